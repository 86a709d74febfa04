import { LineSplitter } from './lines.ts'

/**
 * Splits the Docker Engine's multiplexed log stream (containers without a TTY) into lines.
 * Each frame is an 8-byte header (stream: 1 stdout, 2 stderr; 3 bytes zero; payload size,
 * uint32 big-endian) then the payload. Frames may be cut anywhere across chunks. Each stream
 * keeps its own partial line, so an unfinished stdout line is not glued to a stderr one.
 */
export class DockerLogDemuxer {
  #buffer: Buffer = Buffer.alloc(0)
  #splitters = new Map<number, LineSplitter>()

  push(chunk: Uint8Array): string[] {
    this.#buffer = this.#buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buffer, chunk])
    const lines: string[] = []
    let offset = 0
    while (this.#buffer.length - offset >= 8) {
      const stream = this.#buffer.readUInt8(offset)
      const size = this.#buffer.readUInt32BE(offset + 4)
      if (this.#buffer.length - offset - 8 < size) break
      const payload = this.#buffer.subarray(offset + 8, offset + 8 + size)
      offset += 8 + size
      lines.push(...this.#splitter(stream).push(payload))
    }
    this.#buffer = this.#buffer.subarray(offset)
    return lines
  }

  /** Unterminated last lines, stdout's first. */
  flush(): string[] {
    const lines: string[] = []
    for (const stream of [...this.#splitters.keys()].sort()) lines.push(...this.#splitter(stream).flush())
    return lines
  }

  #splitter(stream: number): LineSplitter {
    let splitter = this.#splitters.get(stream)
    if (!splitter) {
      splitter = new LineSplitter()
      this.#splitters.set(stream, splitter)
    }
    return splitter
  }
}
