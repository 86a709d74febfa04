export {
  type CreateGatewayClientErrorType,
  type CreateGatewayClientParameters,
  type CreateGatewayClientReturnType,
  createGatewayClient,
  type GatewayCallOptions,
  type GatewayClient,
  type GatewayLogsOptions,
} from './client.ts'
export {
  GatewayError,
  type GatewayErrorType,
  type GatewayRequestErrorType,
  GatewayResponseError,
  type GatewayResponseErrorType,
  GatewaySignerRequiredError,
  type GatewaySignerRequiredErrorType,
  GatewayTimeoutError,
  type GatewayTimeoutErrorType,
  GatewayUnreachableError,
  type GatewayUnreachableErrorType,
} from './errors.ts'
export {
  type MeasureGatewayLatencyParameters,
  type MeasureGatewayLatencyReturnType,
  measureGatewayLatency,
} from './latency.ts'
export { ManifestFileError, type ManifestFileErrorType, type ManifestInput } from './placement.ts'
export {
  formatLeaseId,
  type LeaseGateway,
  LeaseNotFoundError,
  type LeaseNotFoundErrorType,
  orderLeases,
  ProviderGatewayMissingError,
  type ProviderGatewayMissingErrorType,
  resolveLeaseGateway,
} from './resolve.ts'
export { gatewayClientFor, gatewaySignerOf } from './signer.ts'
export type {
  GatewayCapacity,
  GatewayHealth,
  GatewayLeaseState,
  GatewayLeaseStatus,
  GatewayManifestAccepted,
  GatewayResourceAmounts,
  GatewayResultFile,
  GatewayServiceStatus,
} from './types.ts'
