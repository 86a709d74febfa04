import { InvalidWasmModuleError } from './errors.ts'

export const WASM_PAGE_BYTES = 65536
const SECTION_IMPORT = 2
const SECTION_MEMORY = 5

export type PreparedModule = {
  /** The module bytes to compile: the input with its memory's maximum set to the cap when it had none. */
  bytes: Uint8Array
  initialPages: number
  /** The maximum the module runs with (≤ the cap). */
  maxPages: number
  /** True when the memory section was rewritten to add the maximum. */
  capped: boolean
}

/**
 * Reads the module's memory declaration and fits it under `capPages` of linear memory:
 * a declared maximum above the cap, or an initial size above it, is refused; a memory with no
 * maximum gets the cap as its maximum (the memory section is re-encoded), so `memory.grow`
 * past the cap fails inside the module instead of taking host memory.
 *
 * Refused as well: imported memories (a WASI command defines and exports its own), several
 * memories, shared or 64-bit memories. The rest of the binary is validated by the engine.
 */
export function prepareWasmModule(input: Uint8Array, capPages: number): PreparedModule {
  const reader = new Reader(input)
  if (input.length < 8 || reader.u32le() !== 0x6d736100)
    throw new InvalidWasmModuleError('not a WebAssembly binary')
  if (reader.u32le() !== 1) throw new InvalidWasmModuleError('unsupported binary version (expected 1)')

  let memory:
    | { sectionStart: number; sectionEnd: number; flags: number; initial: number; max?: number }
    | undefined
  while (!reader.done()) {
    const sectionStart = reader.offset
    const id = reader.byte()
    const size = reader.u32leb()
    const contentStart = reader.offset
    const sectionEnd = contentStart + size
    if (sectionEnd > input.length)
      throw new InvalidWasmModuleError('a section runs past the end of the module')
    if (id === SECTION_IMPORT) checkImports(new Reader(input.subarray(contentStart, sectionEnd)))
    if (id === SECTION_MEMORY) {
      const section = new Reader(input.subarray(contentStart, sectionEnd))
      const count = section.u32leb()
      if (count > 1) throw new InvalidWasmModuleError('it declares several memories')
      if (count === 1) {
        const flags = section.byte()
        if (flags !== 0 && flags !== 1) {
          throw new InvalidWasmModuleError('shared or 64-bit memories are not supported')
        }
        const initial = section.u32leb()
        const max = flags === 1 ? section.u32leb() : undefined
        memory = { sectionStart, sectionEnd, flags, initial, ...(max !== undefined ? { max } : {}) }
      }
    }
    reader.offset = sectionEnd
  }
  if (!memory) throw new InvalidWasmModuleError('it has no memory (a WASI command exports one)')
  const mib = (pages: number) => `${(pages * WASM_PAGE_BYTES) / 1048576} MiB`
  if (memory.initial > capPages) {
    throw new InvalidWasmModuleError(
      `its initial memory (${mib(memory.initial)}) is above the memory cap (${mib(capPages)})`,
    )
  }
  if (memory.max !== undefined) {
    if (memory.max > capPages) {
      throw new InvalidWasmModuleError(
        `its declared maximum memory (${mib(memory.max)}) is above the memory cap (${mib(capPages)})`,
      )
    }
    return { bytes: input, initialPages: memory.initial, maxPages: memory.max, capped: false }
  }
  const content = [...leb(1), 0x01, ...leb(memory.initial), ...leb(capPages)]
  const section = Uint8Array.from([SECTION_MEMORY, ...leb(content.length), ...content])
  const bytes = new Uint8Array(input.length - (memory.sectionEnd - memory.sectionStart) + section.length)
  bytes.set(input.subarray(0, memory.sectionStart), 0)
  bytes.set(section, memory.sectionStart)
  bytes.set(input.subarray(memory.sectionEnd), memory.sectionStart + section.length)
  return { bytes, initialPages: memory.initial, maxPages: capPages, capped: true }
}

/** Only WASI preview1 functions may be imported: no host memory, tables, globals or other modules. */
function checkImports(reader: Reader): void {
  const count = reader.u32leb()
  for (let i = 0; i < count; i++) {
    const module = reader.name()
    const field = reader.name()
    const kind = reader.byte()
    if (kind !== 0) {
      const what = ['function', 'table', 'memory', 'global', 'tag'][kind] ?? `kind ${kind}`
      throw new InvalidWasmModuleError(
        `it imports a ${what} (${module}.${field}); only WASI functions can be imported`,
      )
    }
    reader.u32leb() // type index
    if (module !== 'wasi_snapshot_preview1') {
      throw new InvalidWasmModuleError(
        `it imports ${module}.${field}; only wasi_snapshot_preview1 is provided`,
      )
    }
  }
}

function leb(value: number): number[] {
  const out: number[] = []
  let rest = value >>> 0
  do {
    let byte = rest & 0x7f
    rest >>>= 7
    if (rest !== 0) byte |= 0x80
    out.push(byte)
  } while (rest !== 0)
  return out
}

class Reader {
  offset = 0
  constructor(private readonly bytes: Uint8Array) {}
  done(): boolean {
    return this.offset >= this.bytes.length
  }
  byte(): number {
    const value = this.bytes[this.offset]
    if (value === undefined) throw new InvalidWasmModuleError('it ends in the middle of a section')
    this.offset++
    return value
  }
  u32le(): number {
    let value = 0
    for (let i = 0; i < 4; i++) value |= this.byte() << (8 * i)
    return value >>> 0
  }
  u32leb(): number {
    let result = 0
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.byte()
      result += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) return result
    }
    throw new InvalidWasmModuleError('it has a malformed LEB128 number')
  }
  name(): string {
    const length = this.u32leb()
    if (this.offset + length > this.bytes.length)
      throw new InvalidWasmModuleError('an import name runs past its section')
    const text = new TextDecoder().decode(this.bytes.subarray(this.offset, this.offset + length))
    this.offset += length
    return text
  }
}
