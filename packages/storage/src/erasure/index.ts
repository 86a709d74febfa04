export {
  type CreateErasureCoderErrorType,
  type CreateErasureCoderParameters,
  type CreateErasureCoderReturnType,
  createErasureCoder,
  type EncodeErrorType,
  type ErasureCoder,
  type ErasureImplementation,
  type ErasureKernelName,
  MAX_SHARDS,
  type ReconstructErrorType,
} from './coder.ts'
export {
  NotEnoughShardsError,
  type NotEnoughShardsErrorType,
  ShardSizeMismatchError,
  type ShardSizeMismatchErrorType,
} from './errors.ts'
export { GF_POLYNOMIAL, gfDivide, gfInverse, gfMultiply } from './gf256.ts'
export { parityMatrix } from './matrix.ts'
