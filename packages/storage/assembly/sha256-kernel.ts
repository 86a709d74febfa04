// Multi-buffer SHA-256 for the shard Merkle trees (src/merkle.ts), compiled by AssemblyScript to
// WebAssembly with 128-bit SIMD (scripts/build-sha256-kernel.ts). Four independent messages are
// hashed at once, one in each 32-bit lane of a v128: the state a..h is eight vectors, the message
// schedule 64 vectors, and every rotation two shifts and an or (WebAssembly has no vector rotate).
// The TypeScript driver (src/sha256-wasm.ts) copies messages into memory from `scratchBase()` on
// and the digests out. Nothing here allocates: the module has no runtime, only these functions,
// the round constants and about a KiB of scratch (the schedule and the state).
//
// A round is about 35 vector instructions for four messages, against about 25 scalar ones for
// one, hence the gain: on the AMD EPYC this was written on, 512-byte leaves hash at about
// 690 MB/s on one core, where one `crypto.hash` call per leaf (SHA-NI, but about 1.4 µs of call
// overhead each) gave about 180 MB/s.
//
// The tree hashes only two kinds of message, both 64·n + 1 bytes long:
//   leaf = sha256(0x00 || leaf512)        513 bytes: 8 full blocks and a last one
//   node = sha256(0x01 || left || right)   65 bytes: 1 full block and a last one
// The one-byte prefix shifts the data by a byte against the 64-byte blocks, so a message word
// straddles two data words. Rather than shifting bytes, the kernel reads each message from one
// byte before its data (an unaligned load, which WebAssembly allows) and overwrites the top byte of
// word 0 with the prefix: word t of the message is then simply bytes 4t..4t+3 of that view. The
// last block holds one data byte and the padding, so it is constant but for that byte: words 1..14
// are zero, word 15 is the bit length, word 0 is `byte << 24 | 0x80 << 16`.
//
// Callers must leave one readable byte before the first message (`inPtr >= 1`); it is read and
// then replaced by the prefix.

// The round constants (FIPS 180-4, 4.2.2), broadcast into all lanes as they are used.
const K = memory.data<u32>(
  [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ],
  16,
)

// The initial hash value (FIPS 180-4, 5.3.3).
const IV = memory.data<u32>(
  [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19],
  16,
)

/** The message schedule W[0..63] of the block being compressed, lane i for message i. */
const W = memory.data(64 * 16, 16)
/** The chaining state a..h of the four messages, lane i for message i. */
const STATE = memory.data(8 * 16, 16)

// biome-ignore lint/complexity/noStaticOnlyClass: AssemblyScript inlines only decorated functions, and a decorator needs a class.
class Sha256x4 {
  /**
   * Reverses the bytes of each 32-bit lane: SHA-256 words are big-endian, WebAssembly
   * little-endian. A swizzle by constant indices below 16 is one `pshufb` in V8 on x64, where the
   * same permutation as a shuffle became five instructions.
   */
  @inline static byteSwap(x: v128): v128 {
    return i8x16.swizzle(x, i8x16(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12))
  }

  @inline static rotr(x: v128, n: i32): v128 {
    return v128.or(i32x4.shr_u(x, n), i32x4.shl(x, 32 - n))
  }

  /** Σ0(a) = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22). */
  @inline static bigSigma0(x: v128): v128 {
    return v128.xor(v128.xor(Sha256x4.rotr(x, 2), Sha256x4.rotr(x, 13)), Sha256x4.rotr(x, 22))
  }

  /** Σ1(e) = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25). */
  @inline static bigSigma1(x: v128): v128 {
    return v128.xor(v128.xor(Sha256x4.rotr(x, 6), Sha256x4.rotr(x, 11)), Sha256x4.rotr(x, 25))
  }

  /** σ0(w) = rotr(w, 7) ^ rotr(w, 18) ^ (w >>> 3). */
  @inline static smallSigma0(x: v128): v128 {
    return v128.xor(v128.xor(Sha256x4.rotr(x, 7), Sha256x4.rotr(x, 18)), i32x4.shr_u(x, 3))
  }

  /** σ1(w) = rotr(w, 17) ^ rotr(w, 19) ^ (w >>> 10). */
  @inline static smallSigma1(x: v128): v128 {
    return v128.xor(v128.xor(Sha256x4.rotr(x, 17), Sha256x4.rotr(x, 19)), i32x4.shr_u(x, 10))
  }

  /**
   * T1 = h + Σ1(e) + Ch(e, f, g) + K[t] + W[t], with Ch(e, f, g) = e ? f : g bitwise. h + K + W
   * does not depend on the previous round, so it is summed apart from the e path.
   */
  @inline static t1(e: v128, f: v128, g: v128, h: v128, w: usize, k: usize): v128 {
    return i32x4.add(
      i32x4.add(Sha256x4.bigSigma1(e), v128.bitselect(f, g, e)),
      i32x4.add(h, i32x4.add(v128.load(w), v128.load32_splat(k))),
    )
  }

  /**
   * T2 = Σ0(a) + Maj(a, b, c), with Maj(a, b, c) = b ^ ((a ^ b) & (b ^ c)): `ab` is a ^ b, and
   * `bc` is b ^ c, which the previous round computed as its own a ^ b.
   */
  @inline static t2(a: v128, b: v128, ab: v128, bc: v128): v128 {
    return i32x4.add(Sha256x4.bigSigma0(a), v128.xor(b, v128.and(ab, bc)))
  }

  /**
   * Loads 16 bytes of each of the four messages (`p0..p3` plus `offset`) and stores them as four
   * schedule words at `w`: a 4×4 transpose, so that word j of message i lands in lane i.
   */
  @inline static loadWords(p0: usize, p1: usize, p2: usize, p3: usize, offset: usize, w: usize): void {
    const x0 = Sha256x4.byteSwap(v128.load(p0 + offset))
    const x1 = Sha256x4.byteSwap(v128.load(p1 + offset))
    const x2 = Sha256x4.byteSwap(v128.load(p2 + offset))
    const x3 = Sha256x4.byteSwap(v128.load(p3 + offset))
    const y0 = v128.shuffle<i32>(x0, x1, 0, 4, 1, 5)
    const y1 = v128.shuffle<i32>(x0, x1, 2, 6, 3, 7)
    const y2 = v128.shuffle<i32>(x2, x3, 0, 4, 1, 5)
    const y3 = v128.shuffle<i32>(x2, x3, 2, 6, 3, 7)
    v128.store(w, v128.shuffle<i64>(y0, y2, 0, 2))
    v128.store(w, v128.shuffle<i64>(y0, y2, 1, 3), 16)
    v128.store(w, v128.shuffle<i64>(y1, y3, 0, 2), 32)
    v128.store(w, v128.shuffle<i64>(y1, y3, 1, 3), 48)
  }

  /**
   * Stores four state words (`x0..x3`: words j..j+3, lane i for message i) as the big-endian bytes
   * of the first `lanes` messages' digests: 16 bytes at out + 32·i.
   */
  @inline static storeWords(x0: v128, x1: v128, x2: v128, x3: v128, out: usize, lanes: i32): void {
    const y0 = v128.shuffle<i32>(x0, x1, 0, 4, 1, 5)
    const y1 = v128.shuffle<i32>(x0, x1, 2, 6, 3, 7)
    const y2 = v128.shuffle<i32>(x2, x3, 0, 4, 1, 5)
    const y3 = v128.shuffle<i32>(x2, x3, 2, 6, 3, 7)
    v128.store(out, Sha256x4.byteSwap(v128.shuffle<i64>(y0, y2, 0, 2)))
    if (lanes > 1) v128.store(out, Sha256x4.byteSwap(v128.shuffle<i64>(y0, y2, 1, 3)), 32)
    if (lanes > 2) v128.store(out, Sha256x4.byteSwap(v128.shuffle<i64>(y1, y3, 0, 2)), 64)
    if (lanes > 3) v128.store(out, Sha256x4.byteSwap(v128.shuffle<i64>(y1, y3, 1, 3)), 96)
  }

  /** Extends W[0..15] to W[16..63]: W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16]. */
  @inline static schedule(): void {
    for (let p = W; p < W + 48 * 16; p += 16) {
      // p is W[t-16]; offsets reach W[t-15], W[t-7], W[t-2] and store W[t].
      const w16 = v128.load(p)
      const w15 = v128.load(p, 16)
      const w7 = v128.load(p, 9 * 16)
      const w2 = v128.load(p, 14 * 16)
      v128.store(
        p,
        i32x4.add(i32x4.add(Sha256x4.smallSigma1(w2), w7), i32x4.add(Sha256x4.smallSigma0(w15), w16)),
        16 * 16,
      )
    }
  }

  /**
   * Compresses the block in W[0..15] into STATE, for all four lanes. Not inlined: a call per block
   * costs nothing measurable, and one copy keeps the module small.
   */
  static compress(): void {
    Sha256x4.schedule()
    let a = v128.load(STATE)
    let b = v128.load(STATE, 16)
    let c = v128.load(STATE, 32)
    let d = v128.load(STATE, 48)
    let e = v128.load(STATE, 64)
    let f = v128.load(STATE, 80)
    let g = v128.load(STATE, 96)
    let h = v128.load(STATE, 112)
    // Eight rounds per iteration, the roles of a..h rotating through the variables, so that no
    // round moves a value from one variable to another. `bc` carries b ^ c into the next round.
    let k = K
    let bc = v128.xor(b, c)
    for (let w = W; w < W + 64 * 16; w += 8 * 16) {
      let x: v128
      let ab: v128
      x = Sha256x4.t1(e, f, g, h, w, k)
      d = i32x4.add(d, x)
      ab = v128.xor(a, b)
      h = i32x4.add(x, Sha256x4.t2(a, b, ab, bc))
      bc = ab
      x = Sha256x4.t1(d, e, f, g, w + 16, k + 4)
      c = i32x4.add(c, x)
      ab = v128.xor(h, a)
      g = i32x4.add(x, Sha256x4.t2(h, a, ab, bc))
      bc = ab
      x = Sha256x4.t1(c, d, e, f, w + 32, k + 8)
      b = i32x4.add(b, x)
      ab = v128.xor(g, h)
      f = i32x4.add(x, Sha256x4.t2(g, h, ab, bc))
      bc = ab
      x = Sha256x4.t1(b, c, d, e, w + 48, k + 12)
      a = i32x4.add(a, x)
      ab = v128.xor(f, g)
      e = i32x4.add(x, Sha256x4.t2(f, g, ab, bc))
      bc = ab
      x = Sha256x4.t1(a, b, c, d, w + 64, k + 16)
      h = i32x4.add(h, x)
      ab = v128.xor(e, f)
      d = i32x4.add(x, Sha256x4.t2(e, f, ab, bc))
      bc = ab
      x = Sha256x4.t1(h, a, b, c, w + 80, k + 20)
      g = i32x4.add(g, x)
      ab = v128.xor(d, e)
      c = i32x4.add(x, Sha256x4.t2(d, e, ab, bc))
      bc = ab
      x = Sha256x4.t1(g, h, a, b, w + 96, k + 24)
      f = i32x4.add(f, x)
      ab = v128.xor(c, d)
      b = i32x4.add(x, Sha256x4.t2(c, d, ab, bc))
      bc = ab
      x = Sha256x4.t1(f, g, h, a, w + 112, k + 28)
      e = i32x4.add(e, x)
      ab = v128.xor(b, c)
      a = i32x4.add(x, Sha256x4.t2(b, c, ab, bc))
      bc = ab
      k += 32
    }
    v128.store(STATE, i32x4.add(v128.load(STATE), a))
    v128.store(STATE, i32x4.add(v128.load(STATE, 16), b), 16)
    v128.store(STATE, i32x4.add(v128.load(STATE, 32), c), 32)
    v128.store(STATE, i32x4.add(v128.load(STATE, 48), d), 48)
    v128.store(STATE, i32x4.add(v128.load(STATE, 64), e), 64)
    v128.store(STATE, i32x4.add(v128.load(STATE, 80), f), 80)
    v128.store(STATE, i32x4.add(v128.load(STATE, 96), g), 96)
    v128.store(STATE, i32x4.add(v128.load(STATE, 112), h), 112)
  }

  /**
   * The digests of four messages of 64 · fullBlocks + 1 bytes each: `prefix`, then the bytes from
   * p_i + 1 on (p_i is one byte before message i's data). Writes the first `lanes` digests to
   * out + 32·i.
   */
  static digest4(
    p0: usize,
    p1: usize,
    p2: usize,
    p3: usize,
    fullBlocks: i32,
    prefix: u32,
    out: usize,
    lanes: i32,
  ): void {
    for (let i = 0; i < 8; i++) v128.store(STATE + i * 16, v128.load32_splat(IV + i * 4))
    let offset: usize = 0
    for (let block = 0; block < fullBlocks; block++) {
      Sha256x4.loadWords(p0, p1, p2, p3, offset, W)
      Sha256x4.loadWords(p0, p1, p2, p3, offset + 16, W + 64)
      Sha256x4.loadWords(p0, p1, p2, p3, offset + 32, W + 128)
      Sha256x4.loadWords(p0, p1, p2, p3, offset + 48, W + 192)
      if (block === 0) {
        // The byte before the data was read as the message's first byte: put the prefix there.
        const first = v128.and(v128.load(W), i32x4.splat(0x00ffffff))
        v128.store(W, v128.or(first, i32x4.splat(prefix << 24)))
      }
      Sha256x4.compress()
      offset += 64
    }
    // The last block: the message's last byte, the 0x80 padding byte, zeros, the bit length.
    let last = i32x4.splat(0x00800000)
    last = v128.load8_lane(p0 + offset, last, 3)
    last = v128.load8_lane(p1 + offset, last, 7)
    last = v128.load8_lane(p2 + offset, last, 11)
    last = v128.load8_lane(p3 + offset, last, 15)
    v128.store(W, last)
    for (let i = 1; i < 15; i++) v128.store(W + i * 16, i32x4.splat(0))
    v128.store(W, i32x4.splat(((fullBlocks * 64 + 1) * 8) as i32), 15 * 16)
    Sha256x4.compress()
    Sha256x4.storeWords(
      v128.load(STATE),
      v128.load(STATE, 16),
      v128.load(STATE, 32),
      v128.load(STATE, 48),
      out,
      lanes,
    )
    Sha256x4.storeWords(
      v128.load(STATE, 64),
      v128.load(STATE, 80),
      v128.load(STATE, 96),
      v128.load(STATE, 112),
      out + 16,
      lanes,
    )
  }

  /**
   * Hashes `count` messages lying `stride` bytes apart from `inPtr` (each 64 · fullBlocks bytes
   * after the prefix), four at a time; a last group of fewer than four repeats its last message in
   * the spare lanes and stores only its own digests.
   */
  @inline static hashMany(
    inPtr: usize,
    count: i32,
    outPtr: usize,
    stride: usize,
    fullBlocks: i32,
    prefix: u32,
  ): void {
    let p = inPtr - 1
    let out = outPtr
    for (let done = 0; done < count; done += 4) {
      const lanes = min(4, count - done)
      const p1 = lanes > 1 ? p + stride : p
      const p2 = lanes > 2 ? p + 2 * stride : p1
      const p3 = lanes > 3 ? p + 3 * stride : p2
      Sha256x4.digest4(p, p1, p2, p3, fullBlocks, prefix, out, lanes)
      p += 4 * stride
      out += 4 * 32
    }
  }
}

/** The first free byte of memory, 64-byte aligned: the driver lays out its buffers from here. */
export function scratchBase(): usize {
  return (__heap_base + 63) & ~(63 as usize)
}

/**
 * `count` leaves of 512 bytes each, consecutive from `inPtr` (at least 1), to their hashes
 * sha256(0x00 || leaf), 32 bytes each, consecutive from `outPtr`.
 */
export function hashLeaves(inPtr: usize, count: i32, outPtr: usize): void {
  Sha256x4.hashMany(inPtr, count, outPtr, 512, 8, 0x00)
}

/**
 * `count` pairs of 32-byte nodes, 64 bytes each, consecutive from `inPtr` (at least 1), to their
 * parents sha256(0x01 || left || right), consecutive from `outPtr`. `outPtr` may equal `inPtr`:
 * a group's four pairs are read before its parents are written, below its own input.
 */
export function hashPairs(inPtr: usize, count: i32, outPtr: usize): void {
  Sha256x4.hashMany(inPtr, count, outPtr, 64, 1, 0x01)
}
