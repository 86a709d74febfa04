// Test fixture: tries every way out of its sandbox a WASI preview1 module has, and reports.
// Each attempt prints `blocked: ...` or `ESCAPED: ...`; the exit code is the number of escapes.
// A control write to /results/inside.txt must succeed (exit 100 if it does not).
// biome-ignore lint/style/useImportType: AssemblyScript has no type-only imports.
import {
  errno,
  fd_close,
  fd_prestat_dir_name,
  fd_prestat_get,
  oflags,
  path_create_directory,
  path_open,
  path_symlink,
  prestat,
  prestat_dir,
  rights,
} from '@assemblyscript/wasi-shim/assembly/bindings/wasi_snapshot_preview1'
import { findPreopen, openAt, writeAll, writeFile } from '../../lib/wasi-files'

const READ: u64 = rights.FD_READ | rights.FD_SEEK | rights.FD_FILESTAT_GET
const WRITE: u64 = rights.FD_WRITE | rights.FD_SEEK | rights.FD_FILESTAT_GET
let escapes = 0

function report(what: string, code: u32): void {
  if (code === errno.SUCCESS) {
    escapes++
    console.log(`ESCAPED: ${what}`)
  } else {
    console.log(`blocked: ${what} (errno ${code})`)
  }
}

function tryOpen(dirFd: i32, path: string, flags: u16, wanted: u64, what: string): void {
  const opened = openAt(dirFd, path, flags, wanted)
  report(what, opened[0])
  if (opened[0] === errno.SUCCESS) fd_close(opened[1])
}

function trySymlink(dirFd: i32, target: string, link: string): void {
  const targetBytes = String.UTF8.encode(target)
  const linkBytes = String.UTF8.encode(link)
  const code = path_symlink(
    changetype<usize>(targetBytes),
    <usize>targetBytes.byteLength,
    <u32>dirFd,
    changetype<usize>(linkBytes),
    <usize>linkBytes.byteLength,
  )
  if (code === errno.SUCCESS) {
    // A link may exist; what matters is whether it can be followed out of the sandbox.
    console.log(`note: created symlink ${link} -> ${target}`)
    tryOpen(dirFd, link, 0, READ, `read through symlink ${link} -> ${target}`)
  } else {
    console.log(`blocked: symlink ${link} -> ${target} (errno ${code})`)
  }
}

const results = findPreopen('/results')
if (results < 0) {
  console.log('no /results pre-open')
  process.exit(100)
}

// Which directories did the runtime pre-open? Only /results and /input are allowed.
const stat = new ArrayBuffer(16)
for (let fd: u32 = 3; fd < 64; fd++) {
  if (fd_prestat_get(fd, changetype<prestat>(changetype<usize>(stat))) !== errno.SUCCESS) break
  const length = changetype<prestat_dir>(changetype<usize>(stat)).name_len
  const name = new ArrayBuffer(<i32>length)
  fd_prestat_dir_name(fd, changetype<usize>(name), length)
  const path = String.UTF8.decode(name)
  if (path === '/results' || path === '/input') console.log(`preopen: fd ${fd} ${path}`)
  else {
    escapes++
    console.log(`ESCAPED: unexpected preopen fd ${fd} ${path}`)
  }
}

tryOpen(results, '../outside.txt', oflags.CREAT | oflags.TRUNC, WRITE, 'create ../outside.txt')
tryOpen(results, '../../../../../../../../etc/passwd', 0, READ, 'read ../../../../etc/passwd')
tryOpen(results, '/etc/passwd', 0, READ, 'read /etc/passwd')
tryOpen(results, '..', oflags.DIRECTORY, rights.FD_READDIR, 'open the parent directory')
trySymlink(results, '/etc/passwd', 'link-absolute')
trySymlink(results, '../../../../../../../../etc/passwd', 'link-relative')
// Unassigned descriptors: guessing a host fd number must not give access to anything.
for (let fd: u32 = 64; fd < 70; fd++) {
  const probe = new ArrayBuffer(4)
  const code = path_open(
    fd,
    0,
    changetype<usize>(String.UTF8.encode('x')),
    1,
    0,
    READ,
    0,
    0,
    changetype<usize>(probe),
  )
  if (code === errno.SUCCESS) report(`open through guessed fd ${fd}`, code)
}

const input = findPreopen('/input')
if (input >= 0) {
  tryOpen(input, 'written-by-guest.txt', oflags.CREAT | oflags.TRUNC, WRITE, 'create a file in /input')
  tryOpen(input, 'data.txt', oflags.TRUNC, WRITE, 'truncate /input/data.txt')
  const opened = openAt(input, 'data.txt', 0, READ | WRITE)
  report('open /input/data.txt for writing', opened[0])
  if (opened[0] === errno.SUCCESS) {
    report('write into /input/data.txt', writeAll(opened[1], Uint8Array.wrap(String.UTF8.encode('tampered'))))
    fd_close(opened[1])
  }
  const dir = String.UTF8.encode('made-by-guest')
  report('mkdir in /input', path_create_directory(<u32>input, changetype<usize>(dir), <usize>dir.byteLength))
  const readable = openAt(input, 'data.txt', 0, READ)
  console.log(`control: reading /input/data.txt gives errno ${readable[0]}`)
  if (readable[0] !== errno.SUCCESS) process.exit(100)
  fd_close(readable[1])
}

const control = writeFile(
  results,
  'inside.txt',
  Uint8Array.wrap(String.UTF8.encode('written inside the sandbox\n')),
)
console.log(`control: writing /results/inside.txt gives errno ${control}`)
if (control !== errno.SUCCESS) process.exit(100)
console.log(`escapes: ${escapes}`)
process.exit(escapes)
