// Erasure coding (Reed-Solomon over GF(2^8), WASM SIMD kernel)
export * from './erasure/index.ts'
