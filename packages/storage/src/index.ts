// Erasure coding (Reed-Solomon over GF(2^8), WASM SIMD kernel)

// Hashing on worker threads: content sha256 (downloads), Merkle roots of pieces (uploads)
export * from './content-hash.ts'
// Encryption: master key, segments, wrapped keys, index blob
export * from './crypto.ts'
export * from './decode.ts'
// Streaming encode / decode, shard trees, repair
export * from './encode.ts'
export * from './erasure/index.ts'
// Errors of the storage pipeline
export * from './errors.ts'
// Object layout: piece size, segments, thresholds
export * from './layout.ts'
// Merkle trees over shards (sha256, 512-byte leaves: LEAF_SIZE)
export * from './merkle.ts'
// The encrypted object index
export * from './object-index.ts'
export * from './piece-roots.ts'
// Decrypting downloads into a file on a worker thread
export * from './plaintext-file.ts'
// Object records and their JSON
export * from './record.ts'
