// The worker thread that runs one WASI preview1 module for the WASM runtime (wasm.ts).
//
// Plain JavaScript on purpose: a worker does not inherit the tsx loader, and without one it
// starts in tens of milliseconds.
//
// workerData: { module: WebAssembly.Module, args, env, preopens: { guest: hostDir },
//   readOnlyFds: number[], logPath, logLimitBytes, capBytes }
// Posts one message before ending: { type: 'exit', code, memoryBytes } or
// { type: 'trap', message, memoryBytes }.
import { closeSync, openSync, writeSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'

// node:wasi is experimental in Node 20 and says so on stderr, which is the daemon's.
process.emitWarning = () => {}
const { WASI } = await import('node:wasi')

const ERRNO_SUCCESS = 0
const ERRNO_FAULT = 21
// Rights (WASI preview1 bit numbers) left on a read-only pre-open. The directory itself keeps
// fd_fdstat_set_flags 3, fd_advise 7, path_open 13, fd_readdir 14, path_readlink 15,
// path_filestat_get 18, fd_filestat_get 21, poll_fd_readwrite 27 (uvwasi gives a directory no
// fd_read/fd_seek/fd_tell, and only lets rights shrink); what is opened through it may also
// fd_read 1, fd_seek 2, fd_tell 5. Everything that creates, writes, truncates, renames, links
// or deletes is gone.
const bits = (list) => list.reduce((rights, bit) => rights | (1n << BigInt(bit)), 0n)
const READ_ONLY_DIRECTORY = bits([3, 7, 13, 14, 15, 18, 21, 27])
const READ_ONLY_INHERITING = bits([1, 2, 3, 5, 7, 13, 14, 15, 18, 21, 27])

const { module, args, env, preopens, readOnlyFds, logPath, logLimitBytes } = workerData
const log = openSync(logPath, 'a')
const devNull = openSync('/dev/null', 'r+')
const wasi = new WASI({
  version: 'preview1',
  args,
  env,
  preopens,
  stdin: devNull,
  stdout: devNull,
  stderr: devNull,
  returnOnExit: true,
})
const host = wasi.getImportObject().wasi_snapshot_preview1

let memory
let logged = 0
let truncated = false
let restricted = false

/**
 * Takes write rights away from the read-only pre-opens (/input) before the module's first WASI
 * call: uvwasi then refuses creating, truncating, writing, renaming or deleting through them and
 * through anything opened from them. (node:wasi has no read-only pre-open option; the rights
 * call needs the instance's memory, which exists only once the module runs.)
 */
function restrictOnce() {
  if (restricted) return
  restricted = true
  for (const fd of readOnlyFds) {
    const code = host.fd_fdstat_set_rights(fd, READ_ONLY_DIRECTORY, READ_ONLY_INHERITING)
    if (code !== ERRNO_SUCCESS) throw new Error(`could not make fd ${fd} read-only (WASI errno ${code})`)
  }
}

/** stdout and stderr go, interleaved as written, to one capped log file. */
function writeOutput(iovs, iovsLength, writtenPointer) {
  const buffer = memory.buffer
  const view = new DataView(buffer)
  if (iovs + iovsLength * 8 > buffer.byteLength || writtenPointer + 4 > buffer.byteLength) return ERRNO_FAULT
  let total = 0
  for (let i = 0; i < iovsLength; i++) {
    const pointer = view.getUint32(iovs + i * 8, true)
    const length = view.getUint32(iovs + i * 8 + 4, true)
    if (pointer + length > buffer.byteLength) return ERRNO_FAULT
    const room = Math.max(0, logLimitBytes - logged)
    if (length > 0 && room > 0) {
      writeSync(log, new Uint8Array(buffer, pointer, Math.min(length, room)))
      logged += Math.min(length, room)
    }
    if (length > room && !truncated) {
      truncated = true
      writeSync(log, `\n[stoa: output past ${logLimitBytes} bytes dropped]\n`)
    }
    total += length
  }
  view.setUint32(writtenPointer, total, true)
  return ERRNO_SUCCESS
}

const imports = {}
for (const [name, call] of Object.entries(host)) {
  imports[name] = (...values) => {
    restrictOnce()
    return call(...values)
  }
}
imports.fd_write = (fd, iovs, iovsLength, writtenPointer) => {
  restrictOnce()
  if (fd === 1 || fd === 2) return writeOutput(iovs, iovsLength, writtenPointer)
  return host.fd_write(fd, iovs, iovsLength, writtenPointer)
}

let outcome
try {
  const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: imports })
  memory = instance.exports.memory
  const code = wasi.start(instance)
  outcome = { type: 'exit', code, memoryBytes: memory.buffer.byteLength }
} catch (error) {
  outcome = {
    type: 'trap',
    message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    memoryBytes: memory ? memory.buffer.byteLength : 0,
  }
} finally {
  closeSync(log)
  closeSync(devNull)
}
parentPort.postMessage(outcome)
