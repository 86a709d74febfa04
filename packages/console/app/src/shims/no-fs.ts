/**
 * `node:fs/promises` in the browser build. @stoa/protocol's `parseManifest` imports it lazily to
 * read `wasm:` modules from disk when no `readFile` is given; the console always gives one (the
 * modules the page holds), so this is never called. The alias keeps Node's module out of the
 * bundle and says so, instead of Vite's generic "externalized for browser compatibility" stub.
 */
export function open(path: string): never {
  throw new Error(`Cannot open ${path}: a browser page has no file system (give parseManifest a readFile).`)
}
