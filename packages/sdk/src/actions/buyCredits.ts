import {
  type BaseErrorType,
  creditsAbi,
  creditsToStoa,
  InvalidParameterError,
  type InvalidParameterErrorType,
  type StoaContractErrorType,
  stoaTokenAbi,
} from '@stoa/protocol'
import { parseSignature } from 'viem'
import { getBlock, signTypedData } from 'viem/actions'
import { ensureStoaAllowance } from '../internal/allowance.ts'
import { eventArgs } from '../internal/logs.ts'
import { positive, uint } from '../internal/values.ts'
import { accountAddress, readStoaContract, resolveAccount, writeStoaContract } from '../internal/write.ts'
import type {
  ApproveProgressEvent,
  ProgressEvent,
  ProgressOptions,
  StoaActionClient,
  TransactionProgressEvent,
  WriteParameters,
  WriteReturnType,
} from '../types.ts'

/** The credits `Credits.buy` mints for 1e20 STOA wei (100 STOA) equal the oracle answer itself. */
const ONE_PRICE_UNIT_OF_STOA = 10n ** 20n

export type BuyCreditsProgressEvent =
  | ProgressEvent<'buy-credits:quoted', { stoaAmount: bigint; credits: bigint; price: bigint }>
  | ProgressEvent<'permit:signed', { spender: `0x${string}`; amount: bigint; deadline: bigint }>
  | ApproveProgressEvent
  | TransactionProgressEvent

export type BuyCreditsParameters = WriteParameters &
  ProgressOptions<BuyCreditsProgressEvent> &
  (
    | {
        /** Credits wanted (6 decimals, e.g. `parseCredits('25')`): burns the least STOA that buys them. */
        credits: bigint
        stoaAmount?: undefined
      }
    | {
        /** STOA to burn (18 decimals). */
        stoaAmount: bigint
        credits?: undefined
      }
  ) & {
    /**
     * Fewest credits to accept (reverts `CreditsSlippage` below). Default: what the current oracle
     * price gives, so a price drop between quote and transaction reverts instead of buying less.
     */
    minCredits?: bigint | undefined
    /**
     * `approve` (default): an approval transaction first when the allowance is short, then `buy`.
     * `permit`: sign an EIP-2612 permit and `buyWithPermit`, one transaction.
     */
    authorization?: 'approve' | 'permit' | undefined
    /** Permit validity in seconds from the latest block's time (default 3600). */
    permitTtlSeconds?: number | undefined
  }

export type BuyCreditsReturnType = WriteReturnType & {
  /** Credits minted (6 decimals). */
  credits: bigint
  /** STOA burned (18 decimals). */
  stoaAmount: bigint
  /** The oracle answer used (8 decimals). */
  price: bigint
}

export type BuyCreditsErrorType = StoaContractErrorType | InvalidParameterErrorType | BaseErrorType

/**
 * Buys credits by burning STOA at the oracle price: quotes (a stale price fails here, decoded as
 * `CreditsStalePrice`), approves or signs a permit, then buys.
 *
 * @example
 * const { credits } = await buyCredits(client, { credits: parseCredits('25') })
 */
export async function buyCredits(
  client: StoaActionClient,
  parameters: BuyCreditsParameters,
): Promise<BuyCreditsReturnType> {
  const account = resolveAccount(client, parameters.account, 'buyCredits')
  const { onProgress } = parameters
  const { credits: creditsAddress, stoaToken } = client.deployment.contracts

  // quoteBuy reverts like buy on a stale or bad price, and for 1e20 wei returns the price itself.
  const price = await readStoaContract(client, {
    address: creditsAddress,
    abi: creditsAbi,
    functionName: 'quoteBuy',
    args: [ONE_PRICE_UNIT_OF_STOA],
  })
  const stoaAmount =
    parameters.credits !== undefined
      ? creditsToStoa(positive(parameters.credits, 'credits'), price)
      : positive(parameters.stoaAmount, 'stoaAmount')
  const quoted = await readStoaContract(client, {
    address: creditsAddress,
    abi: creditsAbi,
    functionName: 'quoteBuy',
    args: [stoaAmount],
  })
  const minCredits =
    parameters.minCredits === undefined ? quoted : uint(parameters.minCredits, 256, 'minCredits')
  onProgress?.({ type: 'buy-credits:quoted', detail: { stoaAmount, credits: quoted, price } })

  let result: WriteReturnType
  const authorization = parameters.authorization ?? 'approve'
  if (authorization === 'permit') {
    const owner = accountAddress(account)
    const ttl = BigInt(parameters.permitTtlSeconds ?? 3600)
    const [nonce, domain, latest] = await Promise.all([
      readStoaContract(client, {
        address: stoaToken,
        abi: stoaTokenAbi,
        functionName: 'nonces',
        args: [owner],
      }),
      readStoaContract(client, {
        address: stoaToken,
        abi: stoaTokenAbi,
        functionName: 'eip712Domain',
        args: [],
      }),
      getBlock(client, { blockTag: 'latest' }),
    ])
    const [, name, version, chainId, verifyingContract] = domain
    const deadline = latest.timestamp + ttl
    const signature = await signTypedData(client, {
      account,
      domain: { name, version, chainId, verifyingContract },
      types: {
        Permit: [
          { name: 'owner', type: 'address' },
          { name: 'spender', type: 'address' },
          { name: 'value', type: 'uint256' },
          { name: 'nonce', type: 'uint256' },
          { name: 'deadline', type: 'uint256' },
        ],
      },
      primaryType: 'Permit',
      message: { owner, spender: creditsAddress, value: stoaAmount, nonce, deadline },
    })
    onProgress?.({ type: 'permit:signed', detail: { spender: creditsAddress, amount: stoaAmount, deadline } })
    const { r, s, v, yParity } = parseSignature(signature)
    result = await writeStoaContract(client, {
      address: creditsAddress,
      abi: creditsAbi,
      functionName: 'buyWithPermit',
      args: [stoaAmount, minCredits, deadline, Number(v ?? BigInt(yParity + 27)), r, s],
      account,
      onProgress,
    })
  } else if (authorization === 'approve') {
    await ensureStoaAllowance(client, { account, spender: creditsAddress, amount: stoaAmount, onProgress })
    result = await writeStoaContract(client, {
      address: creditsAddress,
      abi: creditsAbi,
      functionName: 'buy',
      args: [stoaAmount, minCredits],
      account,
      onProgress,
    })
  } else {
    throw new InvalidParameterError('authorization', '"approve" or "permit"', authorization)
  }
  const bought = eventArgs(result.receipt, creditsAbi, creditsAddress, 'CreditsBought')
  return { ...result, credits: bought.credits, stoaAmount: bought.stoaAmount, price: bought.price }
}
