/**
 * The browser-safe part of the SDK (`@stoa/sdk/browser`): actions and gateway pieces whose whole
 * import graph is free of `node:` modules and of `@stoa/storage` (which needs node:crypto), so a
 * bundler for the web can take them as they are. `createStoaClient` is not here (its decorator
 * pulls in the storage actions): build a client with viem and add the deployment,
 * `createClient({ chain, transport }).extend(() => ({ deployment }))`.
 *
 * Keep it so: before adding a module, check that neither it nor anything it imports names a
 * `node:` module, not even in a dynamic `import()` (the `deploy` action is left out for that:
 * `loadManifest` reads manifest files from disk). Compose a deploy from `createOrder`, `getBids`,
 * `rankBids`, `acceptBid`, `createGatewayClient(...).putManifest` and `waitForLease`.
 */

// Market: orders, bids, leases
export {
  type AcceptBidErrorType,
  type AcceptBidParameters,
  type AcceptBidReturnType,
  acceptBid,
} from './actions/acceptBid.ts'
export {
  type CancelOrderErrorType,
  type CancelOrderParameters,
  type CancelOrderReturnType,
  cancelOrder,
} from './actions/cancelOrder.ts'
export {
  type CloseLeaseErrorType,
  type CloseLeaseParameters,
  type CloseLeaseReturnType,
  closeLease,
} from './actions/closeLease.ts'
export {
  type CreateOrderErrorType,
  type CreateOrderParameters,
  type CreateOrderReturnType,
  createOrder,
  type OrderResources,
} from './actions/createOrder.ts'
export {
  type BidRecord,
  type GetBidsErrorType,
  type GetBidsParameters,
  type GetBidsReturnType,
  getBids,
} from './actions/getBids.ts'
// Credits and the oracle
export {
  type GetCreditBalanceErrorType,
  type GetCreditBalanceParameters,
  type GetCreditBalanceReturnType,
  getCreditBalance,
} from './actions/getCreditBalance.ts'
export {
  type GetLeaseErrorType,
  type GetLeaseParameters,
  type GetLeaseReturnType,
  getLease,
  type LeaseRecord,
} from './actions/getLease.ts'
export {
  type GetLeaseLogsErrorType,
  type GetLeaseLogsParameters,
  type GetLeaseLogsReturnType,
  getLeaseLogs,
} from './actions/getLeaseLogs.ts'
export {
  type GetLeaseStatusErrorType,
  type GetLeaseStatusParameters,
  type GetLeaseStatusReturnType,
  getLeaseStatus,
} from './actions/getLeaseStatus.ts'
export {
  type GetOraclePriceErrorType,
  type GetOraclePriceParameters,
  type GetOraclePriceReturnType,
  getOraclePrice,
} from './actions/getOraclePrice.ts'
export {
  type GetOrderErrorType,
  type GetOrderParameters,
  type GetOrderReturnType,
  getOrder,
  type OrderRecord,
} from './actions/getOrder.ts'
// Providers
export {
  type GetProviderErrorType,
  type GetProviderParameters,
  type GetProviderReturnType,
  getProvider,
  type ProviderRecord,
} from './actions/getProvider.ts'
export {
  type RankBidsErrorType,
  type RankBidsParameters,
  type RankBidsReturnType,
  type RankedBid,
  rankBids,
  type SelectBidReturnType,
  selectBid,
} from './actions/selectBid.ts'
export {
  LeaseFailedError,
  type LeaseFailedErrorType,
  leaseReadiness,
  type WaitForLeaseErrorType,
  type WaitForLeaseParameters,
  type WaitForLeaseProgressEvent,
  type WaitForLeaseReturnType,
  WaitForLeaseTimeoutError,
  type WaitForLeaseTimeoutErrorType,
  waitForLease,
} from './actions/waitForLease.ts'
// Provider gateways: signed requests
export {
  type CreateGatewayClientParameters,
  createGatewayClient,
  type GatewayCallOptions,
  type GatewayClient,
  type GatewayLogsOptions,
} from './gateway/client.ts'
export {
  GatewayError,
  type GatewayRequestErrorType,
  GatewayResponseError,
  GatewaySignerRequiredError,
  GatewayTimeoutError,
  GatewayUnreachableError,
} from './gateway/errors.ts'
export { formatLeaseId } from './gateway/resolve.ts'
export { gatewayClientFor, gatewaySignerOf } from './gateway/signer.ts'
export type {
  GatewayHealth,
  GatewayLeaseState,
  GatewayLeaseStatus,
  GatewayResultFile,
  GatewayServiceStatus,
} from './gateway/types.ts'
export { AccountRequiredError, DeploymentChainMismatchError } from './internal/write.ts'
export type {
  ProgressEvent,
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from './types.ts'
