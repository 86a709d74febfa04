// Client

// The storage format is @stoa/storage's: its records, key derivation and errors, re-exported
export {
  ContentHashMismatchError,
  type ContentHashMismatchErrorType,
  DecryptionFailedError,
  type DecryptionFailedErrorType,
  deriveMasterKey,
  MalformedIndexError,
  type MalformedIndexErrorType,
  masterKeyMessage,
  type SegmentRecord,
  type ShardRecord as ObjectShardRecord,
} from '@stoa/storage'
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
  type ChallengeOfErrorType,
  type ChallengeOfParameters,
  type ChallengeOfReturnType,
  challengeOf,
} from './actions/challengeOf.ts'
export {
  type CloseLeaseErrorType,
  type CloseLeaseParameters,
  type CloseLeaseReturnType,
  closeLease,
} from './actions/closeLease.ts'
// Storage: deals, objects, the object index, repair
export {
  type CreateDealErrorType,
  type CreateDealParameters,
  type CreateDealReturnType,
  createDeal,
  type DealTerms,
  type ShardSpec,
} from './actions/createDeal.ts'
export {
  type CreateOrderErrorType,
  type CreateOrderParameters,
  type CreateOrderReturnType,
  createOrder,
  type OrderResources,
} from './actions/createOrder.ts'
export {
  type CurrentPeriodErrorType,
  type CurrentPeriodParameters,
  type CurrentPeriodReturnType,
  currentPeriod,
} from './actions/currentPeriod.ts'
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
  type DealToRepair,
  type FindDealsToRepairErrorType,
  type FindDealsToRepairParameters,
  type FindDealsToRepairReturnType,
  findDealsToRepair,
} from './actions/findDealsToRepair.ts'
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
  type GetDealErrorType,
  type GetDealParameters,
  type GetDealReturnType,
  getDeal,
} from './actions/getDeal.ts'
export {
  type GetIndexDealErrorType,
  type GetIndexDealParameters,
  type GetIndexDealReturnType,
  getIndexDeal,
} from './actions/getIndexDeal.ts'
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
  type GetMasterKeyErrorType,
  type GetMasterKeyParameters,
  type GetMasterKeyReturnType,
  getMasterKey,
} from './actions/getMasterKey.ts'
export {
  type GetObjectErrorType,
  type GetObjectParameters,
  type GetObjectProgressEvent,
  type GetObjectReturnType,
  getObject,
} from './actions/getObject.ts'
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
  type GetShardErrorType,
  type GetShardParameters,
  type GetShardReturnType,
  getShard,
} from './actions/getShard.ts'
export {
  type IssueCreditsErrorType,
  type IssueCreditsParameters,
  type IssueCreditsReturnType,
  issueCredits,
} from './actions/issueCredits.ts'
export {
  type ListDealsErrorType,
  type ListDealsParameters,
  type ListDealsReturnType,
  listDeals,
} from './actions/listDeals.ts'
export {
  type LeaseSummary,
  type ListLeasesErrorType,
  type ListLeasesParameters,
  type ListLeasesReturnType,
  listLeases,
  type OrderSummary,
} from './actions/listLeases.ts'
export {
  type ListObjectsErrorType,
  type ListObjectsParameters,
  type ListObjectsReturnType,
  listObjects,
} from './actions/listObjects.ts'
export {
  type MarkMissedErrorType,
  type MarkMissedParameters,
  type MarkMissedReturnType,
  markMissed,
} from './actions/markMissed.ts'
export {
  type PutObjectErrorType,
  type PutObjectParameters,
  type PutObjectProgressEvent,
  type PutObjectReturnType,
  putObject,
} from './actions/putObject.ts'
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
  type RemoveObjectErrorType,
  type RemoveObjectParameters,
  type RemoveObjectReturnType,
  removeObject,
} from './actions/removeObject.ts'
export {
  type RenewObjectErrorType,
  type RenewObjectParameters,
  type RenewObjectReturnType,
  renewObject,
} from './actions/renewObject.ts'
export {
  type RepairDealErrorType,
  type RepairDealParameters,
  type RepairDealProgressEvent,
  type RepairDealReturnType,
  repairDeal,
} from './actions/repairDeal.ts'
export {
  type ReplaceShardErrorType,
  type ReplaceShardParameters,
  type ReplaceShardReturnType,
  replaceShard,
} from './actions/replaceShard.ts'
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
  type SetIndexErrorType,
  type SetIndexParameters,
  type SetIndexReturnType,
  setIndex,
} from './actions/setIndex.ts'
export {
  type SettleErrorType,
  type SettleParameters,
  type SettleReturnType,
  settle,
} from './actions/settle.ts'
export {
  type SettleDealErrorType,
  type SettleDealParameters,
  type SettleDealReturnType,
  settleDeal,
} from './actions/settleDeal.ts'
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
  withGasHeadroom,
} from './internal/write.ts'
export {
  type DealRecord,
  type DealState,
  repairThresholdOf,
  type ShardRecord,
  type ShardState,
} from './storage/deals.ts'
export {
  DealNotFoundError,
  type DealNotFoundErrorType,
  DealNotRenewableError,
  type DealNotRenewableErrorType,
  isTransientStorageFailure,
  NotEnoughStorageProvidersError,
  type NotEnoughStorageProvidersErrorType,
  ObjectIntegrityError,
  type ObjectIntegrityErrorType,
  ObjectNotFoundError,
  type ObjectNotFoundErrorType,
  ShardRootMismatchError,
  type ShardRootMismatchErrorType,
  StorageProviderError,
  type StorageProviderErrorType,
  type StorageRequestErrorType,
  StorageResponseError,
  type StorageResponseErrorType,
  StorageTimeoutError,
  type StorageTimeoutErrorType,
  StorageUnreachableError,
  type StorageUnreachableErrorType,
} from './storage/errors.ts'
export {
  type CreateStorageClientParameters,
  createStorageClient,
  type StorageAcceptanceRequest,
  type StorageCallOptions,
  type StorageClient,
  type StorageInfo,
  storageClientFor,
} from './storage/http.ts'
export {
  loadObjectIndex,
  type ObjectIndex,
  type ObjectRecord,
  saveObjectIndex,
} from './storage/objectIndex.ts'
export {
  type SelectStorageProvidersErrorType,
  type SelectStorageProvidersParameters,
  type SelectStorageProvidersReturnType,
  type StorageProviderCandidate,
  selectStorageProviders,
} from './storage/placement.ts'
export type { UploadProgress } from './storage/upload.ts'
export type {
  ApproveProgressEvent,
  ProgressEvent,
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from './types.ts'
