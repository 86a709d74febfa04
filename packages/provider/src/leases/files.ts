import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { moduleDigest, type NormalizedManifest, validateNormalizedManifest } from '@stoa/protocol'
import type { Hex } from 'viem'

/**
 * A lease's accepted manifest and WASM modules on disk (`<dataDir>/leases/<leaseId>/`), so a
 * restarted daemon can start the lease's workloads again without the tenant. Written atomically
 * (temporary file, then rename); read back with the same checks the gateway applied.
 */
export type LeaseFiles = ReturnType<typeof leaseFiles>

export function leaseFiles(dataDir: string) {
  const leaseDir = (leaseId: bigint) => path.join(dataDir, 'leases', leaseId.toString())
  const resultsDir = (workloadId: string) => path.join(dataDir, 'results', workloadId)

  async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
    const temporary = `${file}.${process.pid}.tmp`
    await writeFile(temporary, data)
    await rename(temporary, file)
  }

  return {
    leaseDir,
    resultsDir,
    async save(
      leaseId: bigint,
      manifest: NormalizedManifest,
      modules: ReadonlyMap<Hex, Uint8Array>,
    ): Promise<void> {
      const dir = leaseDir(leaseId)
      await mkdir(path.join(dir, 'modules'), { recursive: true })
      for (const [digest, bytes] of modules) {
        await writeAtomic(path.join(dir, 'modules', `${digest.slice(2)}.wasm`), bytes)
      }
      // The manifest last: its presence means the modules are complete.
      await writeAtomic(path.join(dir, 'manifest.json'), JSON.stringify(manifest))
    },
    /** The saved manifest and its modules, or undefined when none was saved (or it no longer checks out). */
    async load(
      leaseId: bigint,
    ): Promise<{ manifest: NormalizedManifest; modules: Map<Hex, Uint8Array> } | undefined> {
      const dir = leaseDir(leaseId)
      let manifest: NormalizedManifest
      try {
        manifest = validateNormalizedManifest(
          JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')),
        )
      } catch {
        return undefined
      }
      const modules = new Map<Hex, Uint8Array>()
      for (const service of Object.values(manifest.services)) {
        if (!service.wasm || modules.has(service.wasm.sha256)) continue
        const bytes = await readFile(path.join(dir, 'modules', `${service.wasm.sha256.slice(2)}.wasm`)).catch(
          () => undefined,
        )
        if (!bytes || moduleDigest(bytes) !== service.wasm.sha256) return undefined
        modules.set(service.wasm.sha256, new Uint8Array(bytes))
      }
      return { manifest, modules }
    },
    async remove(leaseId: bigint, workloadIds: readonly string[]): Promise<void> {
      await rm(leaseDir(leaseId), { recursive: true, force: true })
      for (const id of workloadIds) await rm(resultsDir(id), { recursive: true, force: true })
    },
  }
}
