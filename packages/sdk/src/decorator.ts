import {
  type AcceptBestBidParameters,
  type AcceptBestBidReturnType,
  acceptBestBid,
} from './actions/acceptBestBid.ts'
import { type AcceptBidParameters, type AcceptBidReturnType, acceptBid } from './actions/acceptBid.ts'
import { type BeginUnbondParameters, type BeginUnbondReturnType, beginUnbond } from './actions/beginUnbond.ts'
import { type BidParameters, type BidReturnType, bid } from './actions/bid.ts'
import { type BuyCreditsParameters, type BuyCreditsReturnType, buyCredits } from './actions/buyCredits.ts'
import { type CancelOrderParameters, type CancelOrderReturnType, cancelOrder } from './actions/cancelOrder.ts'
import { type ChallengeOfParameters, type ChallengeOfReturnType, challengeOf } from './actions/challengeOf.ts'
import { type CloseLeaseParameters, type CloseLeaseReturnType, closeLease } from './actions/closeLease.ts'
import { type CreateDealParameters, type CreateDealReturnType, createDeal } from './actions/createDeal.ts'
import { type CreateOrderParameters, type CreateOrderReturnType, createOrder } from './actions/createOrder.ts'
import {
  type CurrentPeriodParameters,
  type CurrentPeriodReturnType,
  currentPeriod,
} from './actions/currentPeriod.ts'
import { type DeployParameters, type DeployReturnType, deploy } from './actions/deploy.ts'
import {
  type FindDealsToRepairParameters,
  type FindDealsToRepairReturnType,
  findDealsToRepair,
} from './actions/findDealsToRepair.ts'
import { type GetBidsParameters, type GetBidsReturnType, getBids } from './actions/getBids.ts'
import {
  type GetCreditBalanceParameters,
  type GetCreditBalanceReturnType,
  getCreditBalance,
} from './actions/getCreditBalance.ts'
import { type GetDealParameters, type GetDealReturnType, getDeal } from './actions/getDeal.ts'
import {
  type GetIndexDealParameters,
  type GetIndexDealReturnType,
  getIndexDeal,
} from './actions/getIndexDeal.ts'
import { type GetLeaseParameters, type GetLeaseReturnType, getLease } from './actions/getLease.ts'
import {
  type GetLeaseLogsParameters,
  type GetLeaseLogsReturnType,
  getLeaseLogs,
} from './actions/getLeaseLogs.ts'
import {
  type GetLeaseResultsParameters,
  type GetLeaseResultsReturnType,
  getLeaseResults,
} from './actions/getLeaseResults.ts'
import {
  type GetLeaseStatusParameters,
  type GetLeaseStatusReturnType,
  getLeaseStatus,
} from './actions/getLeaseStatus.ts'
import {
  type GetMasterKeyParameters,
  type GetMasterKeyReturnType,
  getMasterKey,
} from './actions/getMasterKey.ts'
import { type GetObjectParameters, type GetObjectReturnType, getObject } from './actions/getObject.ts'
import {
  type GetOraclePriceParameters,
  type GetOraclePriceReturnType,
  getOraclePrice,
} from './actions/getOraclePrice.ts'
import { type GetOrderParameters, type GetOrderReturnType, getOrder } from './actions/getOrder.ts'
import { type GetProviderParameters, type GetProviderReturnType, getProvider } from './actions/getProvider.ts'
import { type GetShardParameters, type GetShardReturnType, getShard } from './actions/getShard.ts'
import {
  type IssueCreditsParameters,
  type IssueCreditsReturnType,
  issueCredits,
} from './actions/issueCredits.ts'
import { type ListDealsParameters, type ListDealsReturnType, listDeals } from './actions/listDeals.ts'
import { type ListLeasesParameters, type ListLeasesReturnType, listLeases } from './actions/listLeases.ts'
import { type ListObjectsParameters, type ListObjectsReturnType, listObjects } from './actions/listObjects.ts'
import { type MarkMissedParameters, type MarkMissedReturnType, markMissed } from './actions/markMissed.ts'
import { type PutObjectParameters, type PutObjectReturnType, putObject } from './actions/putObject.ts'
import {
  type RedeemCreditsParameters,
  type RedeemCreditsReturnType,
  redeemCredits,
} from './actions/redeemCredits.ts'
import {
  type RegisterProviderParameters,
  type RegisterProviderReturnType,
  registerProvider,
} from './actions/registerProvider.ts'
import {
  type RemoveObjectParameters,
  type RemoveObjectReturnType,
  removeObject,
} from './actions/removeObject.ts'
import { type RenewObjectParameters, type RenewObjectReturnType, renewObject } from './actions/renewObject.ts'
import { type RepairDealParameters, type RepairDealReturnType, repairDeal } from './actions/repairDeal.ts'
import {
  type ReplaceShardParameters,
  type ReplaceShardReturnType,
  replaceShard,
} from './actions/replaceShard.ts'
import { type ReportFaultParameters, type ReportFaultReturnType, reportFault } from './actions/reportFault.ts'
import {
  type RestartBiddingParameters,
  type RestartBiddingReturnType,
  restartBidding,
} from './actions/restartBidding.ts'
import { type RankBidsParameters, type RankBidsReturnType, rankBids } from './actions/selectBid.ts'
import { type SetIndexParameters, type SetIndexReturnType, setIndex } from './actions/setIndex.ts'
import { type SettleParameters, type SettleReturnType, settle } from './actions/settle.ts'
import { type SettleDealParameters, type SettleDealReturnType, settleDeal } from './actions/settleDeal.ts'
import { type StakeParameters, type StakeReturnType, stake } from './actions/stake.ts'
import { type TopUpParameters, type TopUpReturnType, topUp } from './actions/topUp.ts'
import {
  type UpdateProviderParameters,
  type UpdateProviderReturnType,
  updateProvider,
} from './actions/updateProvider.ts'
import {
  type WaitForLeaseParameters,
  type WaitForLeaseReturnType,
  waitForLease,
} from './actions/waitForLease.ts'
import { type WatchLeaseParameters, type WatchLeaseReturnType, watchLease } from './actions/watchLease.ts'
import {
  type WithdrawEarningsParameters,
  type WithdrawEarningsReturnType,
  withdrawEarnings,
} from './actions/withdrawEarnings.ts'
import {
  type WithdrawStakeParameters,
  type WithdrawStakeReturnType,
  withdrawStake,
} from './actions/withdrawStake.ts'
import {
  type SelectStorageProvidersParameters,
  type SelectStorageProvidersReturnType,
  selectStorageProviders,
} from './storage/placement.ts'
import type { StoaActionClient } from './types.ts'

/** Every Stoa action, bound to one client. */
export type StoaActions = {
  // Credits
  buyCredits: (parameters: BuyCreditsParameters) => Promise<BuyCreditsReturnType>
  issueCredits: (parameters: IssueCreditsParameters) => Promise<IssueCreditsReturnType>
  redeemCredits: (parameters: RedeemCreditsParameters) => Promise<RedeemCreditsReturnType>
  getCreditBalance: (parameters?: GetCreditBalanceParameters) => Promise<GetCreditBalanceReturnType>
  getOraclePrice: (parameters?: GetOraclePriceParameters) => Promise<GetOraclePriceReturnType>
  // Providers
  registerProvider: (parameters: RegisterProviderParameters) => Promise<RegisterProviderReturnType>
  updateProvider: (parameters: UpdateProviderParameters) => Promise<UpdateProviderReturnType>
  stake: (parameters: StakeParameters) => Promise<StakeReturnType>
  beginUnbond: (parameters: BeginUnbondParameters) => Promise<BeginUnbondReturnType>
  withdrawStake: (parameters?: WithdrawStakeParameters) => Promise<WithdrawStakeReturnType>
  getProvider: (parameters?: GetProviderParameters) => Promise<GetProviderReturnType>
  // Market
  createOrder: (parameters: CreateOrderParameters) => Promise<CreateOrderReturnType>
  bid: (parameters: BidParameters) => Promise<BidReturnType>
  acceptBid: (parameters: AcceptBidParameters) => Promise<AcceptBidReturnType>
  acceptBestBid: (parameters: AcceptBestBidParameters) => Promise<AcceptBestBidReturnType>
  settle: (parameters: SettleParameters) => Promise<SettleReturnType>
  topUp: (parameters: TopUpParameters) => Promise<TopUpReturnType>
  closeLease: (parameters: CloseLeaseParameters) => Promise<CloseLeaseReturnType>
  cancelOrder: (parameters: CancelOrderParameters) => Promise<CancelOrderReturnType>
  restartBidding: (parameters: RestartBiddingParameters) => Promise<RestartBiddingReturnType>
  reportFault: (parameters: ReportFaultParameters) => Promise<ReportFaultReturnType>
  withdrawEarnings: (parameters?: WithdrawEarningsParameters) => Promise<WithdrawEarningsReturnType>
  getOrder: (parameters: GetOrderParameters) => Promise<GetOrderReturnType>
  getLease: (parameters: GetLeaseParameters) => Promise<GetLeaseReturnType>
  getBids: (parameters: GetBidsParameters) => Promise<GetBidsReturnType>
  // Compute: deploy and run workloads through provider gateways
  deploy: (parameters: DeployParameters) => Promise<DeployReturnType>
  rankBids: (parameters: RankBidsParameters) => Promise<RankBidsReturnType>
  waitForLease: (parameters: WaitForLeaseParameters) => Promise<WaitForLeaseReturnType>
  watchLease: (parameters: WatchLeaseParameters) => Promise<WatchLeaseReturnType>
  getLeaseStatus: (parameters: GetLeaseStatusParameters) => Promise<GetLeaseStatusReturnType>
  getLeaseLogs: (parameters: GetLeaseLogsParameters) => GetLeaseLogsReturnType
  getLeaseResults: (parameters: GetLeaseResultsParameters) => Promise<GetLeaseResultsReturnType>
  listLeases: (parameters?: ListLeasesParameters) => Promise<ListLeasesReturnType>
  // Storage: deals, objects, the object index, repair
  createDeal: (parameters: CreateDealParameters) => Promise<CreateDealReturnType>
  getDeal: (parameters: GetDealParameters) => Promise<GetDealReturnType>
  getShard: (parameters: GetShardParameters) => Promise<GetShardReturnType>
  listDeals: (parameters?: ListDealsParameters) => Promise<ListDealsReturnType>
  markMissed: (parameters: MarkMissedParameters) => Promise<MarkMissedReturnType>
  replaceShard: (parameters: ReplaceShardParameters) => Promise<ReplaceShardReturnType>
  settleDeal: (parameters: SettleDealParameters) => Promise<SettleDealReturnType>
  setIndex: (parameters: SetIndexParameters) => Promise<SetIndexReturnType>
  getIndexDeal: (parameters?: GetIndexDealParameters) => Promise<GetIndexDealReturnType>
  challengeOf: (parameters: ChallengeOfParameters) => Promise<ChallengeOfReturnType>
  currentPeriod: (parameters: CurrentPeriodParameters) => Promise<CurrentPeriodReturnType>
  putObject: (parameters: PutObjectParameters) => Promise<PutObjectReturnType>
  getObject: (parameters: GetObjectParameters) => Promise<GetObjectReturnType>
  listObjects: (parameters: ListObjectsParameters) => Promise<ListObjectsReturnType>
  removeObject: (parameters: RemoveObjectParameters) => Promise<RemoveObjectReturnType>
  renewObject: (parameters: RenewObjectParameters) => Promise<RenewObjectReturnType>
  getMasterKey: (parameters?: GetMasterKeyParameters) => Promise<GetMasterKeyReturnType>
  repairDeal: (parameters: RepairDealParameters) => Promise<RepairDealReturnType>
  findDealsToRepair: (parameters?: FindDealsToRepairParameters) => Promise<FindDealsToRepairReturnType>
  selectStorageProviders: (
    parameters: SelectStorageProvidersParameters,
  ) => Promise<SelectStorageProvidersReturnType>
}

/**
 * Binds every action to `client`, viem's decorator pattern:
 * `walletClient.extend(() => ({ deployment })).extend(stoaActions)`.
 */
export function stoaActions(client: StoaActionClient): StoaActions {
  return {
    buyCredits: (parameters) => buyCredits(client, parameters),
    issueCredits: (parameters) => issueCredits(client, parameters),
    redeemCredits: (parameters) => redeemCredits(client, parameters),
    getCreditBalance: (parameters) => getCreditBalance(client, parameters),
    getOraclePrice: (parameters) => getOraclePrice(client, parameters),
    registerProvider: (parameters) => registerProvider(client, parameters),
    updateProvider: (parameters) => updateProvider(client, parameters),
    stake: (parameters) => stake(client, parameters),
    beginUnbond: (parameters) => beginUnbond(client, parameters),
    withdrawStake: (parameters) => withdrawStake(client, parameters),
    getProvider: (parameters) => getProvider(client, parameters),
    createOrder: (parameters) => createOrder(client, parameters),
    bid: (parameters) => bid(client, parameters),
    acceptBid: (parameters) => acceptBid(client, parameters),
    acceptBestBid: (parameters) => acceptBestBid(client, parameters),
    settle: (parameters) => settle(client, parameters),
    topUp: (parameters) => topUp(client, parameters),
    closeLease: (parameters) => closeLease(client, parameters),
    cancelOrder: (parameters) => cancelOrder(client, parameters),
    restartBidding: (parameters) => restartBidding(client, parameters),
    reportFault: (parameters) => reportFault(client, parameters),
    withdrawEarnings: (parameters) => withdrawEarnings(client, parameters),
    getOrder: (parameters) => getOrder(client, parameters),
    getLease: (parameters) => getLease(client, parameters),
    getBids: (parameters) => getBids(client, parameters),
    deploy: (parameters) => deploy(client, parameters),
    rankBids: (parameters) => rankBids(client, parameters),
    waitForLease: (parameters) => waitForLease(client, parameters),
    watchLease: (parameters) => watchLease(client, parameters),
    getLeaseStatus: (parameters) => getLeaseStatus(client, parameters),
    getLeaseLogs: (parameters) => getLeaseLogs(client, parameters),
    getLeaseResults: (parameters) => getLeaseResults(client, parameters),
    listLeases: (parameters) => listLeases(client, parameters),
    createDeal: (parameters) => createDeal(client, parameters),
    getDeal: (parameters) => getDeal(client, parameters),
    getShard: (parameters) => getShard(client, parameters),
    listDeals: (parameters) => listDeals(client, parameters),
    markMissed: (parameters) => markMissed(client, parameters),
    replaceShard: (parameters) => replaceShard(client, parameters),
    settleDeal: (parameters) => settleDeal(client, parameters),
    setIndex: (parameters) => setIndex(client, parameters),
    getIndexDeal: (parameters) => getIndexDeal(client, parameters),
    challengeOf: (parameters) => challengeOf(client, parameters),
    currentPeriod: (parameters) => currentPeriod(client, parameters),
    putObject: (parameters) => putObject(client, parameters),
    getObject: (parameters) => getObject(client, parameters),
    listObjects: (parameters) => listObjects(client, parameters),
    removeObject: (parameters) => removeObject(client, parameters),
    renewObject: (parameters) => renewObject(client, parameters),
    getMasterKey: (parameters) => getMasterKey(client, parameters),
    repairDeal: (parameters) => repairDeal(client, parameters),
    findDealsToRepair: (parameters) => findDealsToRepair(client, parameters),
    selectStorageProviders: (parameters) => selectStorageProviders(client, parameters),
  }
}
