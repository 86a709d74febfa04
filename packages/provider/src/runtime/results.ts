import { createHash } from 'node:crypto'
import { constants, type Dirent } from 'node:fs'
import { type FileHandle, open, opendir, realpath } from 'node:fs/promises'
import path from 'node:path'
import { InvalidParameterError } from '@stoa/protocol'
import type { ResultFile } from './types.ts'

/**
 * Opens a file a workload wrote under its results directory, for reading by the daemon.
 *
 * A workload controls that directory: it can plant a symlink (`/results/x -> /etc/shadow`, which
 * on the host points at the host's file), a FIFO that blocks a reader, or swap a directory for a
 * link between listing and reading. So: no `..` or absolute names, O_NOFOLLOW on the last
 * component, O_NONBLOCK against FIFOs, a regular-file check on the open descriptor, and the
 * descriptor's real path must lie inside the real results directory (which catches links in
 * the middle of the path, whenever they were made).
 */
export async function openResultFile(resultsDir: string, name: string): Promise<FileHandle> {
  const parts = name.split('/')
  if (
    name.length === 0 ||
    name.includes('\0') ||
    parts.some((part) => part === '' || part === '.' || part === '..')
  ) {
    throw new InvalidParameterError('name', 'a relative path inside the results directory', name)
  }
  const root = await realpath(resultsDir)
  const handle = await open(
    path.join(root, ...parts),
    constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
  )
  try {
    const stats = await handle.stat()
    if (!stats.isFile()) throw new InvalidParameterError('name', 'a regular file', name)
    const actual = await realpath(`/proc/self/fd/${handle.fd}`)
    if (!actual.startsWith(`${root}${path.sep}`)) {
      throw new InvalidParameterError('name', 'a file inside the results directory', name)
    }
    return handle
  } catch (error) {
    await handle.close()
    throw error
  }
}

/** Every regular file under `resultsDir` (symlinks, FIFOs and devices skipped), with sha256, sorted by name. */
export async function listResultFiles(resultsDir: string): Promise<ResultFile[]> {
  const names: string[] = []
  const walk = async (relative: string): Promise<void> => {
    let entries: Dirent[]
    try {
      const dir = await opendir(path.join(resultsDir, relative))
      entries = []
      for await (const entry of dir) entries.push(entry)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && relative === '') return
      throw error
    }
    for (const entry of entries) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`
      if (entry.isDirectory()) await walk(child)
      else if (entry.isFile()) names.push(child)
    }
  }
  await walk('')
  names.sort()
  const files: ResultFile[] = []
  for (const name of names) {
    let handle: FileHandle
    try {
      handle = await openResultFile(resultsDir, name)
    } catch {
      continue // replaced by a link or removed since the listing: not a result
    }
    try {
      const hash = createHash('sha256')
      let size = 0
      for await (const chunk of handle.createReadStream({ autoClose: false })) {
        hash.update(chunk as Buffer)
        size += (chunk as Buffer).length
      }
      files.push({ name, size, sha256: hash.digest('hex'), path: path.join(resultsDir, name) })
    } finally {
      await handle.close()
    }
  }
  return files
}
