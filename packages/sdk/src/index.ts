// Client

// Actions, one per file, each with its Parameters, ReturnType and ErrorType
export {
  type AcceptBestBidErrorType,
  type AcceptBestBidParameters,
  type AcceptBestBidReturnType,
  acceptBestBid,
} from './actions/acceptBestBid.ts'
export {
  type AcceptBidErrorType,
  type AcceptBidParameters,
  type AcceptBidReturnType,
  acceptBid,
} from './actions/acceptBid.ts'
export {
  type BeginUnbondErrorType,
  type BeginUnbondParameters,
  type BeginUnbondReturnType,
  beginUnbond,
} from './actions/beginUnbond.ts'
export {
  type BidErrorType,
  type BidParameters,
  type BidReturnType,
  bid,
} from './actions/bid.ts'
export {
  type BuyCreditsErrorType,
  type BuyCreditsParameters,
  type BuyCreditsProgressEvent,
  type BuyCreditsReturnType,
  buyCredits,
} from './actions/buyCredits.ts'
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
  type DeployErrorType,
  type DeployedJob,
  type DeployedService,
  DeployFailedError,
  type DeployFailedErrorType,
  type DeployParameters,
  type DeployProgressEvent,
  type DeployReturnType,
  deploy,
  NoBidsError,
  type NoBidsErrorType,
} from './actions/deploy.ts'
export {
  type BidRecord,
  type GetBidsErrorType,
  type GetBidsParameters,
  type GetBidsReturnType,
  getBids,
} from './actions/getBids.ts'
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
  type GetLeaseResultsErrorType,
  type GetLeaseResultsParameters,
  type GetLeaseResultsReturnType,
  getLeaseResults,
} from './actions/getLeaseResults.ts'
export {
  type GetLeaseStatusErrorType,
  type GetLeaseStatusParameters,
  type GetLeaseStatusReturnType,
  getLeaseStatus,
  type LeaseReference,
  OrderNotFoundError,
  type OrderNotFoundErrorType,
  type ParsedLeaseReference,
  parseLeaseReference,
  type ResolvedLeaseReference,
  resolveLeaseReference,
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
export {
  type GetProviderErrorType,
  type GetProviderParameters,
  type GetProviderReturnType,
  getProvider,
  type ProviderRecord,
} from './actions/getProvider.ts'
export {
  type IssueCreditsErrorType,
  type IssueCreditsParameters,
  type IssueCreditsReturnType,
  issueCredits,
} from './actions/issueCredits.ts'
export {
  type LeaseSummary,
  type ListLeasesErrorType,
  type ListLeasesParameters,
  type ListLeasesReturnType,
  listLeases,
  type OrderSummary,
} from './actions/listLeases.ts'
export {
  type RedeemCreditsErrorType,
  type RedeemCreditsParameters,
  type RedeemCreditsReturnType,
  redeemCredits,
} from './actions/redeemCredits.ts'
export {
  type RegisterProviderErrorType,
  type RegisterProviderParameters,
  type RegisterProviderProgressEvent,
  type RegisterProviderReturnType,
  registerProvider,
} from './actions/registerProvider.ts'
export {
  type ReportFaultErrorType,
  type ReportFaultParameters,
  type ReportFaultReturnType,
  reportFault,
} from './actions/reportFault.ts'
export {
  type RestartBiddingErrorType,
  type RestartBiddingParameters,
  type RestartBiddingReturnType,
  restartBidding,
} from './actions/restartBidding.ts'
export {
  type BidderInfo,
  type BidScoreWeights,
  type ByAddress,
  bidScoreWeights,
  type RankBidsErrorType,
  type RankBidsParameters,
  type RankBidsReturnType,
  type RankedBid,
  rankBids,
  type SelectBidErrorType,
  type SelectBidParameters,
  type SelectBidReturnType,
  selectBid,
} from './actions/selectBid.ts'
export {
  type SettleErrorType,
  type SettleParameters,
  type SettleReturnType,
  settle,
} from './actions/settle.ts'
export {
  type StakeErrorType,
  type StakeParameters,
  type StakeProgressEvent,
  type StakeReturnType,
  stake,
} from './actions/stake.ts'
export {
  type TopUpErrorType,
  type TopUpParameters,
  type TopUpReturnType,
  topUp,
} from './actions/topUp.ts'
export {
  type UpdateProviderErrorType,
  type UpdateProviderParameters,
  type UpdateProviderReturnType,
  updateProvider,
} from './actions/updateProvider.ts'
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
  type WaitForLeaseUntil,
  waitForLease,
} from './actions/waitForLease.ts'
export {
  type Failover,
  type WatchedService,
  type WatchLeaseErrorType,
  type WatchLeaseParameters,
  type WatchLeaseProgressEvent,
  type WatchLeaseReturnType,
  watchLease,
} from './actions/watchLease.ts'
export {
  type WithdrawEarningsErrorType,
  type WithdrawEarningsParameters,
  type WithdrawEarningsReturnType,
  withdrawEarnings,
} from './actions/withdrawEarnings.ts'
export {
  type WithdrawStakeErrorType,
  type WithdrawStakeParameters,
  type WithdrawStakeReturnType,
  withdrawStake,
} from './actions/withdrawStake.ts'
export { type CreateStoaClientParameters, createStoaClient, type StoaClient, stoaChain } from './client.ts'
export { type StoaActions, stoaActions } from './decorator.ts'
// Provider gateways: signed requests, lease lookups
export * from './gateway/index.ts'
export { InsufficientStoaError } from './internal/allowance.ts'
export { EventNotFoundError, type EventNotFoundErrorType } from './internal/logs.ts'
export type { LeaseOutcome } from './internal/market.ts'
export type { ProviderInfoInput } from './internal/provider.ts'
// Errors the SDK adds to those of @stoa/protocol
export {
  AccountRequiredError,
  type AccountRequiredErrorType,
  DeploymentChainMismatchError,
  type DeploymentChainMismatchErrorType,
} from './internal/write.ts'
export type {
  ApproveProgressEvent,
  ProgressEvent,
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from './types.ts'
