/**
 * The part of @stoa/storage a browser can load (no node: modules): the GF(2^8) arithmetic and the
 * code's matrices, so a page (the console's tenant view) decodes pieces with the very code the
 * pieces were made with. Plain JavaScript, no WASM kernel: meant for small objects like the index.
 */
export { gfInverse, gfMultiply } from './erasure/gf256.ts'
export { addScaledRow, invertMatrix, parityMatrix } from './erasure/matrix.ts'
