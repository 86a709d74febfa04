// Reed-Solomon kernel over GF(2^8), compiled by AssemblyScript to WebAssembly with 128-bit SIMD
// (scripts/build-erasure-kernel.ts builds it twice: plain SIMD, and relaxed SIMD where the
// engine has it). The TypeScript driver (src/erasure/wasm.ts) owns the memory layout: it copies a
// stripe of every source shard into equally spaced slots, writes the nibble tables of the
// coefficients, calls one `dotProductG` or `hornerProductG` per pass, and copies the outputs back
// out. Nothing here allocates: the module has no runtime, only these functions and two 16-byte
// constants.
//
// A pass computes G products (G = 0..4) at once: each 16-byte vector of a source is loaded and
// split into nibbles once, then multiplied into all G accumulators, which stay in registers until
// every source has been read. Multiplying by a constant c is two table lookups
// (c · b = low[b & 15] ^ high[b >> 4]), done 16 bytes at a time by `i8x16.swizzle`.
//
// Besides the G products, a pass can produce two outputs without table lookups, both from the
// shape of the generator (src/erasure/matrix.ts):
// - an XOR output: the XOR of the first `xorSources` sources and of the first `xorProducts`
//   products. Parity 0 is the XOR of the data, so encoding gets it almost for free, and decoding
//   rebuilds its last missing data shard as parity 0 XOR every other data shard;
// - a Horner output: Σ 2^(sources-1-i) · source i, as h = 2 · h + source i, a multiply-by-2 being
//   four SIMD operations where a table product takes eight. Parity 1 has these coefficients.

// The nibble mask, loaded once per call: a constant written inline would be rematerialised
// inside the loop.
const NIBBLE_MASK = memory.data<u8>([15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15], 16)
// The low byte of the field polynomial 0x11d, for multiplying by 2.
const POLYNOMIAL = memory.data<u8>([29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29, 29], 16)

// biome-ignore lint/complexity/noStaticOnlyClass: AssemblyScript inlines only decorated functions, and a decorator needs a class.
class Kernel {
  /** c · v, given the two nibble tables of c. */
  @inline static product(low: v128, high: v128, v: v128, mask: v128): v128 {
    const lowNibbles = v128.and(v, mask)
    const highNibbles = v128.and(i16x8.shr_u(v, 4), mask)
    if (ASC_FEATURE_RELAXED_SIMD) {
      // The indices are 0..15, where relaxed and plain swizzle agree; relaxed skips the range fix-up.
      return v128.xor(i8x16.relaxed_swizzle(low, lowNibbles), i8x16.relaxed_swizzle(high, highNibbles))
    }
    return v128.xor(i8x16.swizzle(low, lowNibbles), i8x16.swizzle(high, highNibbles))
  }

  /** 2 · v: shift each byte left, and reduce by the polynomial where the top bit fell out. */
  @inline static times2(v: v128, polynomial: v128, zero: v128): v128 {
    return v128.xor(i8x16.add(v, v), v128.and(i8x16.lt_s(v, zero), polynomial))
  }

  /**
   * G products (G = 0..4), an optional XOR output (at `xorDst`, 0 for none) and, with H, the
   * Horner output (at `hornerDst`), over `length` bytes, P vectors of 16 bytes (P = 1, 2 or 4;
   * `length` a multiple of 16 · P) per step, so that each table load serves P vectors. Source i
   * is at src + i · stride, product j goes to dst + j · stride, the nibble tables of source i's
   * coefficient for product j are at tables + (i · G + j) · 32. With `unitFirst`, every
   * coefficient of source 0 is 1: the outputs start from source 0 as it is. Products j ≥ 2 keep
   * at most two vectors in flight, or registers run out.
   */
  @inline static dot(
    G: i32,
    H: bool,
    P: i32,
    src: usize,
    sources: i32,
    xorSources: i32,
    tables: usize,
    dst: usize,
    xorDst: usize,
    xorProducts: i32,
    hornerDst: usize,
    unitFirst: bool,
    stride: usize,
    length: usize,
  ): void {
    const mask = v128.load(NIBBLE_MASK)
    const polynomial = v128.load(POLYNOMIAL)
    const zero = i64x2.splat(0)
    const tableStride: usize = 32 * G
    const step: usize = 16 * P
    for (let offset: usize = 0; offset < length; offset += step) {
      // x{p}: the XOR output, vector p; h{p}: the Horner output; a{j}{p}: product j, vector p
      let h0 = zero
      let h1 = zero
      let h2 = zero
      let h3 = zero
      let x0 = zero
      let x1 = zero
      let x2 = zero
      let x3 = zero
      let a00 = zero
      let a01 = zero
      let a02 = zero
      let a03 = zero
      let a10 = zero
      let a11 = zero
      let a12 = zero
      let a13 = zero
      let a20 = zero
      let a21 = zero
      let a30 = zero
      let a31 = zero
      let s = src + offset
      let t = tables
      let i = 0
      if ((G >= 1 || H) && unitFirst) {
        a00 = v128.load(s)
        a01 = P >= 2 ? v128.load(s, 16) : zero
        a02 = P >= 4 ? v128.load(s, 32) : zero
        a03 = P >= 4 ? v128.load(s, 48) : zero
        a10 = a00
        a11 = a01
        a12 = a02
        a13 = a03
        a20 = a00
        a21 = a01
        a30 = a00
        a31 = a01
        if (xorSources > 0) {
          x0 = a00
          x1 = a01
          x2 = a02
          x3 = a03
        }
        if (H) {
          h0 = a00
          h1 = a01
          h2 = a02
          h3 = a03
        }
        s += stride
        t += tableStride
        i = 1
      }
      for (; i < sources; i++) {
        const v0 = v128.load(s)
        const v1 = P >= 2 ? v128.load(s, 16) : zero
        const v2 = P >= 4 ? v128.load(s, 32) : zero
        const v3 = P >= 4 ? v128.load(s, 48) : zero
        if (i < xorSources) {
          x0 = v128.xor(x0, v0)
          x1 = v128.xor(x1, v1)
          x2 = v128.xor(x2, v2)
          x3 = v128.xor(x3, v3)
        }
        if (H) {
          h0 = v128.xor(Kernel.times2(h0, polynomial, zero), v0)
          if (P >= 2) h1 = v128.xor(Kernel.times2(h1, polynomial, zero), v1)
          if (P >= 4) {
            h2 = v128.xor(Kernel.times2(h2, polynomial, zero), v2)
            h3 = v128.xor(Kernel.times2(h3, polynomial, zero), v3)
          }
        }
        if (G >= 1) {
          const low = v128.load(t)
          const high = v128.load(t, 16)
          a00 = v128.xor(a00, Kernel.product(low, high, v0, mask))
          if (P >= 2) a01 = v128.xor(a01, Kernel.product(low, high, v1, mask))
          if (P >= 4) {
            a02 = v128.xor(a02, Kernel.product(low, high, v2, mask))
            a03 = v128.xor(a03, Kernel.product(low, high, v3, mask))
          }
        }
        if (G >= 2) {
          const low = v128.load(t, 32)
          const high = v128.load(t, 48)
          a10 = v128.xor(a10, Kernel.product(low, high, v0, mask))
          if (P >= 2) a11 = v128.xor(a11, Kernel.product(low, high, v1, mask))
          if (P >= 4) {
            a12 = v128.xor(a12, Kernel.product(low, high, v2, mask))
            a13 = v128.xor(a13, Kernel.product(low, high, v3, mask))
          }
        }
        if (G >= 3) {
          const low = v128.load(t, 64)
          const high = v128.load(t, 80)
          a20 = v128.xor(a20, Kernel.product(low, high, v0, mask))
          if (P >= 2) a21 = v128.xor(a21, Kernel.product(low, high, v1, mask))
        }
        if (G >= 4) {
          const low = v128.load(t, 96)
          const high = v128.load(t, 112)
          a30 = v128.xor(a30, Kernel.product(low, high, v0, mask))
          if (P >= 2) a31 = v128.xor(a31, Kernel.product(low, high, v1, mask))
        }
        s += stride
        t += tableStride
      }
      const d = dst + offset
      if (G >= 1) {
        v128.store(d, a00)
        if (P >= 2) v128.store(d, a01, 16)
        if (P >= 4) {
          v128.store(d, a02, 32)
          v128.store(d, a03, 48)
        }
      }
      if (G >= 2) {
        v128.store(d + stride, a10)
        if (P >= 2) v128.store(d + stride, a11, 16)
        if (P >= 4) {
          v128.store(d + stride, a12, 32)
          v128.store(d + stride, a13, 48)
        }
      }
      if (G >= 3) {
        v128.store(d + 2 * stride, a20)
        if (P >= 2) v128.store(d + 2 * stride, a21, 16)
      }
      if (G >= 4) {
        v128.store(d + 3 * stride, a30)
        if (P >= 2) v128.store(d + 3 * stride, a31, 16)
      }
      if (H) {
        v128.store(hornerDst + offset, h0)
        if (P >= 2) v128.store(hornerDst + offset, h1, 16)
        if (P >= 4) {
          v128.store(hornerDst + offset, h2, 32)
          v128.store(hornerDst + offset, h3, 48)
        }
      }
      if (xorDst) {
        if (G >= 1 && xorProducts >= 1) {
          x0 = v128.xor(x0, a00)
          x1 = v128.xor(x1, a01)
          x2 = v128.xor(x2, a02)
          x3 = v128.xor(x3, a03)
        }
        if (G >= 2 && xorProducts >= 2) {
          x0 = v128.xor(x0, a10)
          x1 = v128.xor(x1, a11)
          x2 = v128.xor(x2, a12)
          x3 = v128.xor(x3, a13)
        }
        if (G >= 3 && xorProducts >= 3) {
          x0 = v128.xor(x0, a20)
          x1 = v128.xor(x1, a21)
        }
        if (G >= 4 && xorProducts >= 4) {
          x0 = v128.xor(x0, a30)
          x1 = v128.xor(x1, a31)
        }
        const xd = xorDst + offset
        v128.store(xd, x0)
        if (P >= 2) v128.store(xd, x1, 16)
        if (P >= 4) {
          v128.store(xd, x2, 32)
          v128.store(xd, x3, 48)
        }
      }
    }
  }
}

/** The first free byte of memory, 64-byte aligned: the driver lays out its buffers from here. */
export function scratchBase(): usize {
  return (__heap_base + 63) & ~(63 as usize)
}

// One export per product count G, with (hornerProductG) and without (dotProductG) the Horner
// output. How many vectors a step carries was measured (AMD EPYC, V8 11): four where registers
// allow it, two where four would spill. `length` must be a multiple of 64 for all.

export function dotProduct0(
  src: usize,
  sources: i32,
  xorSources: i32,
  tables: usize,
  dst: usize,
  xorDst: usize,
  xorProducts: i32,
  hornerDst: usize,
  unitFirst: bool,
  stride: usize,
  length: usize,
): void {
  Kernel.dot(
    0,
    false,
    4,
    src,
    sources,
    xorSources,
    tables,
    dst,
    xorDst,
    xorProducts,
    hornerDst,
    unitFirst,
    stride,
    length,
  )
}

export function dotProduct1(
  src: usize,
  sources: i32,
  xorSources: i32,
  tables: usize,
  dst: usize,
  xorDst: usize,
  xorProducts: i32,
  hornerDst: usize,
  unitFirst: bool,
  stride: usize,
  length: usize,
): void {
  Kernel.dot(
    1,
    false,
    4,
    src,
    sources,
    xorSources,
    tables,
    dst,
    xorDst,
    xorProducts,
    hornerDst,
    unitFirst,
    stride,
    length,
  )
}

export function dotProduct2(
  src: usize,
  sources: i32,
  xorSources: i32,
  tables: usize,
  dst: usize,
  xorDst: usize,
  xorProducts: i32,
  hornerDst: usize,
  unitFirst: bool,
  stride: usize,
  length: usize,
): void {
  Kernel.dot(
    2,
    false,
    2,
    src,
    sources,
    xorSources,
    tables,
    dst,
    xorDst,
    xorProducts,
    hornerDst,
    unitFirst,
    stride,
    length,
  )
}

export function dotProduct3(
  src: usize,
  sources: i32,
  xorSources: i32,
  tables: usize,
  dst: usize,
  xorDst: usize,
  xorProducts: i32,
  hornerDst: usize,
  unitFirst: bool,
  stride: usize,
  length: usize,
): void {
  Kernel.dot(
    3,
    false,
    2,
    src,
    sources,
    xorSources,
    tables,
    dst,
    xorDst,
    xorProducts,
    hornerDst,
    unitFirst,
    stride,
    length,
  )
}

export function dotProduct4(
  src: usize,
  sources: i32,
  xorSources: i32,
  tables: usize,
  dst: usize,
  xorDst: usize,
  xorProducts: i32,
  hornerDst: usize,
  unitFirst: bool,
  stride: usize,
  length: usize,
): void {
  Kernel.dot(
    4,
    false,
    2,
    src,
    sources,
    xorSources,
    tables,
    dst,
    xorDst,
    xorProducts,
    hornerDst,
    unitFirst,
    stride,
    length,
  )
}

export function hornerProduct0(
  src: usize,
  sources: i32,
  xorSources: i32,
  tables: usize,
  dst: usize,
  xorDst: usize,
  xorProducts: i32,
  hornerDst: usize,
  unitFirst: bool,
  stride: usize,
  length: usize,
): void {
  Kernel.dot(
    0,
    true,
    4,
    src,
    sources,
    xorSources,
    tables,
    dst,
    xorDst,
    xorProducts,
    hornerDst,
    unitFirst,
    stride,
    length,
  )
}

export function hornerProduct1(
  src: usize,
  sources: i32,
  xorSources: i32,
  tables: usize,
  dst: usize,
  xorDst: usize,
  xorProducts: i32,
  hornerDst: usize,
  unitFirst: bool,
  stride: usize,
  length: usize,
): void {
  Kernel.dot(
    1,
    true,
    2,
    src,
    sources,
    xorSources,
    tables,
    dst,
    xorDst,
    xorProducts,
    hornerDst,
    unitFirst,
    stride,
    length,
  )
}

export function hornerProduct2(
  src: usize,
  sources: i32,
  xorSources: i32,
  tables: usize,
  dst: usize,
  xorDst: usize,
  xorProducts: i32,
  hornerDst: usize,
  unitFirst: bool,
  stride: usize,
  length: usize,
): void {
  Kernel.dot(
    2,
    true,
    2,
    src,
    sources,
    xorSources,
    tables,
    dst,
    xorDst,
    xorProducts,
    hornerDst,
    unitFirst,
    stride,
    length,
  )
}

export function hornerProduct3(
  src: usize,
  sources: i32,
  xorSources: i32,
  tables: usize,
  dst: usize,
  xorDst: usize,
  xorProducts: i32,
  hornerDst: usize,
  unitFirst: bool,
  stride: usize,
  length: usize,
): void {
  Kernel.dot(
    3,
    true,
    2,
    src,
    sources,
    xorSources,
    tables,
    dst,
    xorDst,
    xorProducts,
    hornerDst,
    unitFirst,
    stride,
    length,
  )
}
