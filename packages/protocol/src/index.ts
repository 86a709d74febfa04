// Gateway request signing (EIP-712)
export {
  GatewayAuthError,
  type GatewayAuthErrorCode,
  type GatewayAuthErrorType,
  type GatewayRequestBody,
  type GatewayRequestHeaders,
  type GatewayRequestMessage,
  type GatewayRequestSigner,
  type GatewayRequestTypedData,
  gatewayAuthHeaders,
  gatewayBodyHash,
  gatewayDomain,
  gatewayRequestTypedData,
  gatewayRequestTypes,
  hashGatewayRequest,
  leaseIdFromPath,
  type SignGatewayRequestErrorType,
  type SignGatewayRequestParameters,
  type SignGatewayRequestReturnType,
  signGatewayRequest,
  type VerifiedGatewayRequest,
  type VerifyGatewayRequestErrorType,
  type VerifyGatewayRequestParameters,
  verifyGatewayRequest,
} from './auth/index.ts'
// bytes32 texts, string order
export { bytes32ToText, compareCodeUnits, textToBytes32 } from './bytes32.ts'
// Deployments
export {
  InvalidDeploymentError,
  type InvalidDeploymentErrorType,
  parseDeployment,
  type StoaContractName,
  type StoaDeployment,
  stoaContractNames,
} from './deployment.ts'
// Errors
export { BaseError, type BaseErrorParameters, type BaseErrorType } from './errors/base.ts'
export {
  decodeStoaRevert,
  StoaContractError,
  type StoaContractErrorType,
  toStoaContractError,
} from './errors/contract.ts'
export {
  contractErrorHints,
  contractErrorMessages,
  describeContractError,
  duration,
  type StoaErrorName,
} from './errors/messages.ts'
export { describeValue, InvalidParameterError, type InvalidParameterErrorType } from './errors/parameter.ts'
// Contracts: ABIs and creation bytecode generated from the forge artifacts.
export {
  creditsAbi,
  marketAbi,
  priceOracleAbi,
  providerRegistryAbi,
  stoaErrorsAbi,
  stoaTokenAbi,
  storageDealsAbi,
} from './generated/abis.ts'
export {
  creditsBytecode,
  marketBytecode,
  priceOracleBytecode,
  providerRegistryBytecode,
  stoaTokenBytecode,
  storageDealsBytecode,
} from './generated/bytecode.ts'
// Manifests: parse, normalize, hash, validate
export {
  canonicalManifest,
  type DecodedManifestSubmission,
  decodeManifestSubmission,
  encodeManifestSubmission,
  formatManifestIssue,
  isImageReference,
  type ManifestIssue,
  type ManifestOrderParameters,
  type ManifestOrderResources,
  type ManifestSubmission,
  ManifestValidationError,
  type ManifestValidationErrorType,
  manifestHash,
  manifestLimits,
  manifestOrderParameters,
  moduleDigest,
  type NormalizedExpose,
  type NormalizedManifest,
  type NormalizedResources,
  type NormalizedService,
  orderResources,
  type ParseManifestErrorType,
  type ParseManifestOptions,
  type ParseManifestReturnType,
  parseManifest,
  type ReadModuleFile,
  resolveModulePath,
  type ServiceKind,
  type ValidateNormalizedManifestErrorType,
  validateNormalizedManifest,
  type WasmModuleRef,
} from './manifest/index.ts'
// Market enums and lease ids
export {
  type CloseReason,
  closeReasonName,
  closeReasons,
  type LeaseState,
  leaseIdOf,
  leaseStateName,
  leaseStates,
  type OrderState,
  orderStateName,
  orderStates,
  parseLeaseId,
} from './market.ts'
// Regions
export {
  ANY_REGION_MASK,
  isRegionName,
  maskAllowsRegion,
  type Region,
  type RegionCode,
  type RegionName,
  regionCode,
  regionMask,
  regionName,
  regions,
  regionsFromMask,
  toRegionCode,
  UnknownRegionError,
  type UnknownRegionErrorType,
} from './regions.ts'
// Units
export {
  CREDITS_DECIMALS,
  creditsForDuration,
  creditsToStoa,
  divideRounding,
  formatCredits,
  formatOraclePrice,
  formatStoa,
  formatUnitsExact,
  InvalidAmountError,
  type InvalidAmountErrorType,
  ORACLE_DECIMALS,
  PRICE_SCALE,
  parseCredits,
  parseOraclePrice,
  parseStoa,
  parseUnitsExact,
  pricePerSecondToUsdPerHour,
  type Rounding,
  redeemedStoa,
  SECONDS_PER_HOUR,
  STOA_DECIMALS,
  stoaToCredits,
  usdPerHourToPricePerSecond,
} from './units.ts'
export { version } from './version.ts'
