import type { ContractErrorArgs, ContractErrorName, Hex } from 'viem'
import { bytes32ToText } from '../bytes32.ts'
import type { stoaErrorsAbi } from '../generated/abis.ts'
import { regionName, regions } from '../regions.ts'
import { formatCredits, formatStoa, pricePerSecondToUsdPerHour } from '../units.ts'

/** The name of a custom error some Stoa contract can revert with (OpenZeppelin's included). */
export type StoaErrorName = ContractErrorName<typeof stoaErrorsAbi>

type MessageOf<name extends StoaErrorName> = (args: ContractErrorArgs<typeof stoaErrorsAbi, name>) => string

/**
 * Every contract error, in words a person understands, with the error's values filled in. Typed
 * from the generated ABI, so a new contract error without a message fails type-checking (and a
 * test checks the same at run time).
 */
export const contractErrorMessages: { [name in StoaErrorName]: MessageOf<name> } = {
  // StoaToken
  TokenUnauthorizedMinter: ([caller]) => `${caller} may not mint STOA: only protocol minters may.`,
  TokenInvalidMinter: ([minter]) => `${minter} cannot be made a STOA minter.`,

  // PriceOracle
  OracleUnauthorizedUpdater: ([caller]) =>
    `${caller} may not update the STOA/USD price: it is not an updater.`,
  OracleInvalidPrice: ([answer]) => `A STOA/USD price must be positive; ${answer} was given.`,
  OracleRoundNotFound: ([roundId]) => `The oracle has no price round ${roundId}.`,
  OracleInvalidStaleness: ([maxStaleness]) =>
    `A maximum staleness of ${duration(maxStaleness)} is out of range (1 second to 7 days).`,
  OracleInvalidUpdater: ([updater]) => `${updater} cannot be made a price updater.`,

  // Credits
  CreditsStalePrice: ([updatedAt, maxPriceAge]) =>
    `The STOA/USD price is stale: it was last updated ${time(updatedAt)}, and credits accept prices at most ${duration(maxPriceAge)} old.`,
  CreditsInvalidPrice: ([price]) => `The STOA/USD oracle reports an unusable price (${price}).`,
  CreditsZeroOutput: ([amountIn]) =>
    `${amountIn} base units are too small an amount: it converts to nothing.`,
  CreditsZeroAmount: () => 'The amount must be greater than zero.',
  CreditsSlippage: ([amountOut, minAmountOut]) =>
    `The price moved: this would give ${amountOut} base units, fewer than the ${minAmountOut} you asked for at least.`,
  CreditsInsufficientBalance: ([account, balance, needed]) =>
    `${account} has ${usd(balance)} in credits but ${usd(needed)} are needed.`,
  CreditsInsufficientRedeemable: ([account, redeemable, needed]) =>
    `${account} can redeem ${usd(redeemable)} of earned credits, less than the ${usd(needed)} asked for (only provider earnings are redeemable).`,
  CreditsInvalidReceiver: ([receiver]) => `Credits cannot be sent to ${receiver}.`,
  CreditsInvalidSender: ([sender]) => `Credits cannot be taken from ${sender}.`,
  CreditsUnauthorizedIssuer: ([caller]) =>
    `${caller} may not issue credits: it is not a registered fiat on-ramp (issuer).`,
  CreditsUnauthorizedProtocol: ([caller]) =>
    `${caller} is not a Stoa protocol contract, so it may not move credits.`,
  CreditsInvalidRole: ([account]) => `${account} cannot be given a credits role.`,
  CreditsInvalidOracle: ([oracle, decimals]) =>
    `The price feed ${oracle} reports ${decimals} decimals; credits need a feed with 8.`,
  CreditsInvalidParameter: ([name, value]) => `The parameter ${text(name)} cannot be set to ${value}.`,

  // ProviderRegistry
  RegistryProviderNotActive: ([provider]) =>
    `Provider ${provider} may not take work: it is not registered, its stake is below the minimum, or it is jailed.`,
  RegistryUnknownProvider: ([provider]) => `${provider} is not a registered provider.`,
  RegistryAlreadyRegistered: ([provider, id]) => `${provider} is already registered as provider #${id}.`,
  RegistryEmptyGatewayUrl: () => 'A provider needs a gateway URL.',
  RegistryGatewayUrlTooLong: ([length, maxLength]) =>
    `The gateway URL is ${length} bytes long; at most ${maxLength} are allowed.`,
  RegistryTooManyAttributes: ([count, maxCount]) =>
    `${count} attributes were given; at most ${maxCount} are allowed.`,
  RegistryInvalidLocation: ([latE5, lonE5]) =>
    `(${latE5 / 1e5}, ${lonE5 / 1e5}) is not a valid location: latitude must lie within ±90° and longitude within ±180°.`,
  RegistryZeroAmount: () => 'The amount must be greater than zero.',
  RegistryStakeBelowMinimum: ([stake, minStake]) =>
    `A stake of ${stoa(stake)} is below the minimum of ${stoa(minStake)}.`,
  RegistryInsufficientStake: ([provider, stake, amount]) =>
    `Provider ${provider} has ${stoa(stake)} bonded, less than the ${stoa(amount)} asked for.`,
  RegistryNothingToWithdraw: ([provider]) => `Provider ${provider} has no unbonding stake to withdraw.`,
  RegistryStillUnbonding: ([provider, releaseAt]) =>
    `The unbonding stake of ${provider} is released ${time(releaseAt)}; it cannot be withdrawn before.`,
  RegistryProviderJailed: ([provider, jailedUntil]) =>
    `Provider ${provider} is jailed until ${time(jailedUntil)}.`,
  RegistryNotJailed: ([provider]) => `Provider ${provider} is not jailed.`,
  RegistryUnauthorizedProtocol: ([caller]) =>
    `${caller} is not a Stoa protocol contract, so it may not slash.`,
  RegistryInvalidProtocol: ([protocol]) => `${protocol} cannot be made a protocol contract.`,
  RegistryInvalidParameter: ([name, value]) => `The parameter ${text(name)} cannot be set to ${value}.`,

  // Market
  MarketZeroAddress: () => 'The market needs the credits and registry contract addresses.',
  MarketBidWindowOutOfRange: ([bidWindow, minBidWindow, maxBidWindow]) =>
    `A bid window of ${duration(bidWindow)} is out of range: it must be from ${duration(minBidWindow)} to ${duration(maxBidWindow)}.`,
  MarketZeroMaxPrice: () => 'An order needs a maximum price above zero.',
  MarketDepositTooLow: ([deposit, minDeposit]) =>
    `A deposit of ${usd(deposit)} is too low: this order needs at least ${usd(minDeposit)} (its maximum price for the minimum deposit time), and more than zero.`,
  MarketZeroManifestHash: () => 'An order needs the hash of its manifest.',
  MarketOrderNotOpen: ([orderId, state]) =>
    `Order ${orderId} is not open for bids: it is ${orderState(state)}.`,
  MarketOrderNotActive: ([orderId, state]) =>
    `Order ${orderId} is ${orderState(state)}, so it cannot be topped up.`,
  MarketBidWindowClosed: ([orderId, bidDeadline]) =>
    `Bidding on order ${orderId} closed ${time(bidDeadline)}.`,
  MarketBidWindowStillOpen: ([orderId, bidDeadline]) =>
    `Bidding on order ${orderId} is open until ${time(bidDeadline)}; the best bid can be accepted only after that.`,
  MarketBestBidderActive: ([orderId, round, provider]) =>
    `Order ${orderId} round ${round} has an active best bidder (${provider}): accept its bid instead of restarting the bidding.`,
  MarketRegionNotAllowed: ([orderId, region, regionMask]) =>
    `Order ${orderId} does not run in ${regionLabel(region)}; it allows ${allowedRegions(regionMask)}.`,
  MarketZeroPrice: ([orderId]) => `A bid on order ${orderId} must have a price above zero.`,
  MarketBidAbovePrice: ([orderId, price, maxPrice]) =>
    `A bid of ${perHour(price)} is above order ${orderId}'s maximum of ${perHour(maxPrice)}.`,
  MarketAlreadyBid: ([orderId, provider, round]) =>
    `Provider ${provider} already bid on order ${orderId}${round > 0 ? ` in round ${round}` : ''}.`,
  MarketTooManyBids: ([orderId, maxBidsPerOrder]) =>
    `Order ${orderId} already has the maximum of ${maxBidsPerOrder} bids.`,
  MarketPreviousProvider: ([orderId, provider]) =>
    `Provider ${provider} ran order ${orderId}'s last lease, so it may not bid on the reopened order.`,
  MarketNotTenant: ([orderId, caller]) => `${caller} is not the tenant of order ${orderId}.`,
  MarketNoBid: ([orderId, provider, round]) =>
    `Provider ${provider} has no bid on order ${orderId}${round > 0 ? ` in round ${round}` : ''}.`,
  MarketAutoReopenDisabled: ([orderId]) =>
    `Order ${orderId} was not created with autoReopen, so only its tenant can accept a bid.`,
  MarketNoBids: ([orderId, round]) => `Order ${orderId} has no bids${round > 0 ? ` in round ${round}` : ''}.`,
  MarketLeaseNotActive: ([leaseId, state]) => `Lease ${leaseId} is ${leaseState(state)}.`,
  MarketNotLeaseParty: ([leaseId, caller]) =>
    `${caller} is neither the tenant nor the provider of lease ${leaseId}.`,
  MarketNotLeaseProvider: ([leaseId, caller]) => `${caller} is not the provider of lease ${leaseId}.`,
  MarketNotReporter: ([leaseId, caller]) =>
    `${caller} may not report a fault on lease ${leaseId}: only its tenant and registered watchers may.`,
  MarketAlreadyReported: ([leaseId, watcher]) =>
    `Watcher ${watcher} already reported a fault on lease ${leaseId}.`,
  MarketZeroAmount: () => 'The amount must be greater than zero.',
  MarketEscrowOverflow: ([orderId, escrow, amount]) =>
    `Adding ${usd(amount)} to order ${orderId}'s escrow of ${usd(escrow)} would exceed the largest escrow an order can hold.`,
  MarketEscrowExhausted: ([orderId, leaseId]) =>
    `Order ${orderId}'s escrow ran out, which ends lease ${leaseId}; top-ups cannot revive it.`,
  MarketInvalidParameter: ([name, value]) => `The parameter ${text(name)} cannot be set to ${value}.`,
  MarketInvalidWatcher: ([watcher]) => `${watcher} cannot be made a watcher.`,

  // StorageDeals
  StorageDealsZeroAddress: () =>
    'The storage deals contract needs the credits and registry contract addresses.',
  StorageDealsInvalidParameter: ([name, value]) => `The parameter ${text(name)} cannot be set to ${value}.`,
  StorageDealsInvalidShardCount: ([count, maxShards]) =>
    `A deal needs 1 to ${maxShards} shards; ${count} were given.`,
  StorageDealsAcceptanceCountMismatch: ([shards, acceptances]) =>
    `A deal needs one provider acceptance per shard: ${shards} shards, ${acceptances} acceptances.`,
  StorageDealsInvalidTerms: ([field, value]) => `The deal term ${text(field)} cannot be ${value}.`,
  StorageDealsInvalidShard: ([shardIndex, field, value]) =>
    `Shard ${shardIndex} has an invalid ${text(field)} (${value}).`,
  StorageDealsAcceptanceExpired: ([deadline]) => `The providers' acceptances expired ${time(deadline)}.`,
  StorageDealsInvalidAcceptance: ([shardIndex, provider]) =>
    `The acceptance for shard ${shardIndex} is not a signature by provider ${provider} of these terms.`,
  StorageDealsAcceptanceUsed: ([, provider]) =>
    `Provider ${provider}'s acceptance of this shard was already used once.`,
  StorageDealsDuplicateProvider: ([provider]) =>
    `Provider ${provider} already holds (or held) a shard of this deal; each provider holds one.`,
  StorageDealsProviderNotActive: ([provider]) =>
    `Provider ${provider} is not active in the registry (unregistered, under-staked or jailed).`,
  StorageDealsEscrowOverflow: ([amount]) => `An escrow of ${usd(amount)} is larger than a deal can hold.`,
  StorageDealsUnknownDeal: ([dealId]) => `There is no storage deal ${dealId}.`,
  StorageDealsUnknownShard: ([dealId, shardIndex]) => `Deal ${dealId} has no shard ${shardIndex}.`,
  StorageDealsDealEnded: ([dealId]) => `Deal ${dealId} has ended and was settled.`,
  StorageDealsDealExpired: ([dealId, periods]) =>
    `Deal ${dealId}'s ${periods} periods have run out: its shards can no longer be replaced.`,
  StorageDealsNotOwner: ([dealId, caller]) => `${caller} does not own deal ${dealId}.`,
  StorageDealsPeriodOutOfRange: ([dealId, period, periods]) =>
    `Deal ${dealId} has ${periods} periods (0 to ${periods - 1n}); period ${period} does not exist.`,
  StorageDealsOutsideWindow: ([dealId, period, windowStart, windowEnd]) =>
    `Period ${period} of deal ${dealId} can be proven only from block ${windowStart} to block ${windowEnd - 1n}.`,
  StorageDealsShardNotActive: ([dealId, shardIndex, state]) =>
    `Shard ${shardIndex} of deal ${dealId} is ${shardState(state)}, not active.`,
  StorageDealsShardNotLost: ([dealId, shardIndex, state]) =>
    `Shard ${shardIndex} of deal ${dealId} is ${shardState(state)}: only a lost shard can be replaced.`,
  StorageDealsPeriodNotNext: ([dealId, shardIndex, period, nextPeriod]) =>
    `Shard ${shardIndex} of deal ${dealId} can prove period ${nextPeriod} next, not period ${period}.`,
  StorageDealsInvalidProof: ([dealId, shardIndex, period, leafIndex]) =>
    `The proof does not show leaf ${leafIndex} of shard ${shardIndex} of deal ${dealId} (period ${period}).`,
  StorageDealsWindowNotClosed: ([dealId, period, windowEnd]) =>
    `Period ${period} of deal ${dealId} can still be proven until block ${windowEnd - 1n}.`,
  StorageDealsPeriodProven: ([dealId, shardIndex, period]) =>
    `Shard ${shardIndex} of deal ${dealId} proved period ${period}: it was not missed.`,
  StorageDealsChallengeUnavailable: ([dealId, period, seedBlock]) =>
    `The challenge of period ${period} of deal ${dealId} comes from block ${seedBlock}'s hash, which cannot be read now (before that block, or over 256 blocks after).`,

  // OpenZeppelin: ownership
  OwnableUnauthorizedAccount: ([account]) => `${account} is not the owner of this contract.`,
  OwnableInvalidOwner: ([owner]) => `${owner} cannot own this contract.`,

  // OpenZeppelin: ERC-20, permit, votes
  ERC20InsufficientBalance: ([sender, balance, needed]) =>
    `${sender} holds ${stoa(balance)}, less than the ${stoa(needed)} needed.`,
  ERC20InsufficientAllowance: ([spender, allowance, needed]) =>
    `${spender} may spend ${stoa(allowance)} of this account's STOA, less than the ${stoa(needed)} needed: approve more first.`,
  ERC20InvalidApprover: ([approver]) => `${approver} cannot approve a spender.`,
  ERC20InvalidReceiver: ([receiver]) => `STOA cannot be sent to ${receiver}.`,
  ERC20InvalidSender: ([sender]) => `STOA cannot be sent from ${sender}.`,
  ERC20InvalidSpender: ([spender]) => `${spender} cannot be approved as a spender.`,
  ERC20ExceededSafeSupply: ([increasedSupply, cap]) =>
    `Minting would raise the STOA supply to ${stoa(increasedSupply)}, above the votes-safe cap of ${stoa(cap)}.`,
  ERC2612ExpiredSignature: ([deadline]) => `The permit signature expired ${time(deadline)}.`,
  ERC2612InvalidSigner: ([signer, owner]) => `The permit was signed by ${signer}, not by the owner ${owner}.`,
  ERC5805FutureLookup: ([timepoint, clock]) =>
    `Votes at ${time(timepoint)} cannot be read yet: it is only ${time(BigInt(clock))} on chain.`,
  ERC6372InconsistentClock: () => 'The token and its votes disagree about the clock.',
  VotesExpiredSignature: ([expiry]) => `The delegation signature expired ${time(expiry)}.`,
  InvalidAccountNonce: ([account, currentNonce]) =>
    `The signature uses a stale nonce: ${account}'s current nonce is ${currentNonce}. Sign again.`,
  CheckpointUnorderedInsertion: () => 'A vote checkpoint would be written out of order.',

  // OpenZeppelin: signatures, casts, strings, safe transfers
  ECDSAInvalidSignature: () => 'The signature is invalid.',
  ECDSAInvalidSignatureLength: ([length]) => `A signature of ${length} bytes is invalid; 65 are expected.`,
  ECDSAInvalidSignatureS: () =>
    'The signature is malleable (its s value is in the upper half) and is rejected.',
  SafeCastOverflowedUintDowncast: ([bits, value]) => `${value} is too large: it must fit in ${bits} bits.`,
  SafeERC20FailedOperation: ([token]) => `A transfer of token ${token} failed.`,
  StringTooLong: ([str]) => `"${str}" is too long for a short string.`,
  InvalidShortString: () => 'A short string is malformed.',
}

/** What a person can do about some errors, shown under the message (the CLI prints it as a hint). */
export const contractErrorHints: { [name in StoaErrorName]?: string } = {
  CreditsStalePrice: 'An oracle updater must post a fresh STOA/USD price (on a devnet, the devnet does it).',
  CreditsSlippage: 'Try again at the new price, or lower the minimum you accept.',
  CreditsInsufficientBalance: 'Buy credits first (buyCredits / `stoa credits buy`).',
  ERC20InsufficientBalance: 'Get more STOA first.',
  RegistryProviderNotActive: 'Register, bond at least the minimum stake, and unjail if jailed.',
  RegistryStakeBelowMinimum: 'Bond at least the minimum stake.',
  MarketDepositTooLow: 'Raise the deposit or lower the maximum price.',
  MarketBidWindowClosed: 'Bid on an order that is still open.',
  MarketEscrowExhausted: 'Create a new order to run the workload again.',
  StorageDealsOutsideWindow: 'Submit the proof inside its window (see provingWindow / challengeOf).',
  StorageDealsShardNotLost: 'Only a shard marked missed (markMissed) can be handed to a new provider.',
}

// Lowercase words for the Market enums, by on-chain value (see market.ts for the names).
const orderStateWords = ['nonexistent', 'open', 'leased', 'closed'] as const
const leaseStateWords = ['nonexistent', 'active', 'closed'] as const
// StorageDeals shard states, by on-chain value.
const shardStateWords = ['nonexistent', 'active', 'lost', 'ended'] as const

function shardState(state: number): string {
  return shardStateWords[state] ?? `in state ${state}`
}

function orderState(state: number): string {
  return orderStateWords[state] ?? `in state ${state}`
}

function leaseState(state: number): string {
  return state === 1 ? 'active' : `not active: it is ${leaseStateWords[state] ?? `in state ${state}`}`
}

function usd(credits: bigint): string {
  return `$${formatCredits(credits)}`
}

function stoa(amount: bigint): string {
  return `${formatStoa(amount)} STOA`
}

function perHour(pricePerSecond: bigint): string {
  return `$${pricePerSecondToUsdPerHour(pricePerSecond)}/h`
}

/** A block time as `at 2025-01-02 03:04:05 UTC`. */
function time(seconds: bigint | number): string {
  const milliseconds = Number(seconds) * 1000
  if (!Number.isFinite(milliseconds) || Math.abs(milliseconds) > 8.64e15) return `at time ${seconds}`
  return `at ${new Date(milliseconds)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.000Z$/, ' UTC')}`
}

/** Seconds as `1 h 30 min` (exact: leftover seconds are shown). */
export function duration(seconds: bigint | number): string {
  let rest = BigInt(seconds)
  if (rest === 0n) return '0 s'
  const parts: string[] = []
  for (const [unit, size] of [
    ['d', 86_400n],
    ['h', 3_600n],
    ['min', 60n],
    ['s', 1n],
  ] as const) {
    if (rest >= size) {
      parts.push(`${rest / size} ${unit}`)
      rest %= size
    }
  }
  return parts.join(' ')
}

/** A bytes32 holding a short name (`"minStake"`) → the name. */
function text(value: Hex): string {
  return bytes32ToText(value) ?? value
}

function regionLabel(code: number): string {
  return code < regions.length ? `region ${regionName(code)}` : `region code ${code}`
}

function allowedRegions(mask: number): string {
  const names = regions.filter(({ code }) => ((mask >>> code) & 1) === 1).map(({ name }) => name)
  return names.length === 0 ? 'every region' : names.join(', ')
}

const panicReasons: Record<number, string> = {
  1: 'an assertion failed',
  17: 'an arithmetic operation overflowed or underflowed',
  18: 'it divided by zero',
  33: 'a value was out of an enum’s range',
  34: 'it read a corrupted storage byte array',
  49: 'it popped an empty array',
  50: 'an array index was out of bounds',
  65: 'it ran out of memory',
  81: 'it called an uninitialised function',
}

/**
 * The message (and hint) for a decoded revert: a Stoa or OpenZeppelin custom error, a `require`
 * reason (`Error`), or a `Panic`. Unknown names get a generic sentence naming the error.
 */
export function describeContractError(
  errorName: string,
  args: readonly unknown[],
): { message: string; hint: string | undefined } {
  if (errorName === 'Error') return { message: `The contract reverted: ${String(args[0])}.`, hint: undefined }
  if (errorName === 'Panic') {
    const code = Number(args[0])
    return {
      message: `The contract panicked: ${panicReasons[code] ?? `panic code 0x${code.toString(16)}`}.`,
      hint: undefined,
    }
  }
  const message = (
    contractErrorMessages as unknown as Record<string, ((args: readonly unknown[]) => string) | undefined>
  )[errorName]
  if (!message) return { message: `The contract reverted with ${errorName}.`, hint: undefined }
  return {
    message: message(args),
    hint: (contractErrorHints as Record<string, string | undefined>)[errorName],
  }
}
