export {
  formatManifestIssue,
  type ManifestIssue,
  ManifestValidationError,
  type ManifestValidationErrorType,
} from './errors.ts'
export { manifestLimits } from './limits.ts'
export {
  type ManifestOrderParameters,
  type ManifestOrderResources,
  manifestOrderParameters,
  orderResources,
} from './order.ts'
export {
  type ParseManifestErrorType,
  type ParseManifestOptions,
  type ParseManifestReturnType,
  parseManifest,
  type ReadModuleFile,
  resolveModulePath,
} from './parse.ts'
export {
  type DecodedManifestSubmission,
  decodeManifestSubmission,
  encodeManifestSubmission,
  type ManifestSubmission,
} from './submission.ts'
export type {
  NormalizedExpose,
  NormalizedManifest,
  NormalizedResources,
  NormalizedService,
  ServiceKind,
  WasmModuleRef,
} from './types.ts'
export {
  canonicalManifest,
  manifestHash,
  moduleDigest,
  type ValidateNormalizedManifestErrorType,
  validateNormalizedManifest,
} from './validate.ts'
export { isImageReference } from './values.ts'
