// File output for AssemblyScript WASI programs. The wasi-shim gives console and process but no
// file system API, so this wraps the preview1 calls a workload needs: find a pre-opened directory
// by its guest path, open a file inside it and write bytes.
// biome-ignore lint/style/useImportType: AssemblyScript has no type-only imports.
import {
  errno,
  fd_close,
  fd_prestat_dir_name,
  fd_prestat_get,
  fd_write,
  iovec,
  oflags,
  path_open,
  prestat,
  prestat_dir,
  rights,
} from '@assemblyscript/wasi-shim/assembly/bindings/wasi_snapshot_preview1'

/** Rights asked for a file opened for writing; a runtime refuses rights its pre-open lacks. */
const WRITE_RIGHTS: u64 = rights.FD_WRITE | rights.FD_SEEK | rights.FD_TELL | rights.FD_FILESTAT_GET

/**
 * The file descriptor of the pre-opened directory whose guest path is `guestPath` (for example
 * "/results"), or -1 when the runtime pre-opened none. Pre-opens are numbered from 3 up; the first
 * descriptor that is not one ends the list.
 */
export function findPreopen(guestPath: string): i32 {
  const stat = new ArrayBuffer(16)
  for (let fd: u32 = 3; fd < 64; fd++) {
    if (fd_prestat_get(fd, changetype<prestat>(changetype<usize>(stat))) !== errno.SUCCESS) return -1
    const nameLength = changetype<prestat_dir>(changetype<usize>(stat)).name_len
    const name = new ArrayBuffer(<i32>nameLength)
    if (fd_prestat_dir_name(fd, changetype<usize>(name), nameLength) !== errno.SUCCESS) return -1
    if (String.UTF8.decode(name) === guestPath) return <i32>fd
  }
  return -1
}

/** Opens `path` (relative to the directory `dirFd`) with `flags`; returns [errno, fd]. */
export function openAt(dirFd: i32, path: string, flags: u16, fileRights: u64): StaticArray<u32> {
  const encoded = String.UTF8.encode(path)
  const opened = new ArrayBuffer(4)
  const code = path_open(
    <u32>dirFd,
    0,
    changetype<usize>(encoded),
    <usize>encoded.byteLength,
    flags,
    fileRights,
    0,
    0,
    changetype<usize>(opened),
  )
  const result = new StaticArray<u32>(2)
  result[0] = <u32>code
  result[1] = load<u32>(changetype<usize>(opened))
  return result
}

/** Writes all of `data` to `fd`, looping over short writes; returns the WASI errno. */
export function writeAll(fd: u32, data: Uint8Array): u16 {
  const vector = new ArrayBuffer(<i32>offsetof<iovec>())
  const written = new ArrayBuffer(8)
  let offset = 0
  while (offset < data.length) {
    const chunk = changetype<iovec>(changetype<usize>(vector))
    chunk.buf = data.dataStart + <usize>offset
    chunk.buf_len = <usize>(data.length - offset)
    const code = fd_write(fd, changetype<usize>(vector), 1, changetype<usize>(written))
    if (code !== errno.SUCCESS) return code
    const count = load<u32>(changetype<usize>(written))
    if (count === 0) return errno.IO
    offset += <i32>count
  }
  return errno.SUCCESS
}

/** Creates or truncates `name` in the directory `dirFd` and writes `data`; returns the WASI errno. */
export function writeFile(dirFd: i32, name: string, data: Uint8Array): u16 {
  const opened = openAt(dirFd, name, oflags.CREAT | oflags.TRUNC, WRITE_RIGHTS)
  if (opened[0] !== errno.SUCCESS) return <u16>opened[0]
  const code = writeAll(opened[1], data)
  const closed = fd_close(opened[1])
  return code !== errno.SUCCESS ? code : closed
}
