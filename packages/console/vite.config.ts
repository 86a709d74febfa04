import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

/**
 * The console's browser app: sources in app/, built into dist/ (what `stoa devnet` and
 * `stoa console` serve, beside their `/config.json`). `base: './'` keeps every asset URL relative,
 * so the build works under any path prefix.
 */
export default defineConfig({
  root: fileURLToPath(new URL('./app', import.meta.url)),
  base: './',
  plugins: [react()],
  resolve: {
    alias: [
      {
        find: /^node:fs\/promises$/,
        replacement: fileURLToPath(new URL('./app/src/shims/no-fs.ts', import.meta.url)),
      },
    ],
  },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    // The sample WASM module the deploy form offers stays a file of its own, not a data: URL.
    assetsInlineLimit: 0,
    // viem and recharts are large; one app chunk plus one vendor chunk load fine from localhost.
    chunkSizeWarningLimit: 1500,
  },
  server: {
    // The deploy form bundles workloads/raytracer/build/raytracer.wasm from the repository root.
    fs: { allow: [fileURLToPath(new URL('../..', import.meta.url))] },
  },
})
