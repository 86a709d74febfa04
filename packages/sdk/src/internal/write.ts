import { BaseError, InvalidParameterError, StoaContractError, toStoaContractError } from '@stoa/protocol'
import type {
  Abi,
  Account,
  Address,
  ContractFunctionArgs,
  ContractFunctionName,
  ContractFunctionReturnType,
  Hash,
} from 'viem'
import {
  estimateContractGas,
  getChainId,
  getTransaction,
  readContract,
  simulateContract,
  waitForTransactionReceipt,
  writeContract,
} from 'viem/actions'
import type { StoaActionClient, TransactionProgressEvent, WriteReturnType } from '../types.ts'

export type AccountRequiredErrorType = AccountRequiredError & { name: 'AccountRequiredError' }
export class AccountRequiredError extends BaseError {
  constructor(action: string) {
    super(`\`${action}\` sends a transaction, so it needs an account.`, {
      name: 'AccountRequiredError',
      metaMessages: [
        'Pass `account` to createStoaClient (or to the action): a local account or an address the node holds.',
      ],
    })
  }
}

export type DeploymentChainMismatchErrorType = DeploymentChainMismatchError & {
  name: 'DeploymentChainMismatchError'
}
export class DeploymentChainMismatchError extends BaseError {
  constructor(parameters: { expected: number; actual: number; rpcUrl: string }) {
    super(
      `The RPC serves chain ${parameters.actual}, but the deployment is for chain ${parameters.expected}.`,
      {
        name: 'DeploymentChainMismatchError',
        metaMessages: [
          `Deployment RPC URL: ${parameters.rpcUrl}`,
          'Point the client at the chain the contracts live on, or use that chain’s deployment file.',
        ],
      },
    )
  }
}

const checkedChains = new Map<string, Promise<void>>()

/**
 * Checks once per client that the node it talks to serves the deployment's chain, so a stale
 * deployment file never sends transactions to (or reads answers from) another chain.
 */
export async function assertDeploymentChain(client: StoaActionClient): Promise<void> {
  // Clients extended from one base share a uid but may carry different deployments.
  const key = `${client.uid}:${client.deployment.chainId}`
  let check = checkedChains.get(key)
  if (!check) {
    check = getChainId(client).then((actual) => {
      const { chainId: expected, rpcUrl } = client.deployment
      if (actual !== expected) throw new DeploymentChainMismatchError({ expected, actual, rpcUrl })
    })
    checkedChains.set(key, check)
    // A failed check (a mismatch, or the node was down) is tried again next time.
    check.catch(() => checkedChains.delete(key))
  }
  await check
}

/** The sender of a write: the action's `account`, else the client's. */
export function resolveAccount(
  client: StoaActionClient,
  account: Account | Address | undefined,
  action: string,
): Account | Address {
  const resolved = account ?? client.account
  if (!resolved) throw new AccountRequiredError(action)
  return resolved
}

export function accountAddress(account: Account | Address): Address {
  return typeof account === 'string' ? account : account.address
}

type WriteFunctionName<abi extends Abi> = ContractFunctionName<abi, 'nonpayable' | 'payable'>

/** An estimate plus 25% and 30,000 (one storage slot written from zero, with change). */
export function withGasHeadroom(estimate: bigint): bigint {
  return estimate + estimate / 4n + 30_000n
}

/**
 * Simulates the call (so a revert is decoded before anything is signed), sends it, waits for the
 * receipt. Any revert becomes a `StoaContractError` whose `shortMessage` says why in words.
 */
export async function writeStoaContract<const abi extends Abi, functionName extends WriteFunctionName<abi>>(
  client: StoaActionClient,
  parameters: {
    address: Address
    abi: abi
    functionName: functionName
    args: ContractFunctionArgs<abi, 'nonpayable' | 'payable', functionName>
    account: Account | Address
    /** Called once the transaction is sent, before its receipt. */
    onSent?: ((hash: Hash) => void) | undefined
    /** Receives `transaction:sent` and `transaction:confirmed`. */
    onProgress?: ((event: TransactionProgressEvent) => void) | undefined
  },
): Promise<WriteReturnType> {
  const { address, functionName } = parameters
  const context = { contractAddress: address, functionName: String(functionName) }
  await assertDeploymentChain(client)
  try {
    const { request } = await simulateContract(client, {
      address,
      abi: parameters.abi as Abi,
      functionName: String(functionName),
      args: parameters.args as readonly unknown[],
      account: parameters.account,
      chain: client.chain,
    })
    // The node's estimate fits the state it was made on; when another transaction lands first (two
    // providers bidding on one order in the same block) the call may take a path that costs more,
    // such as a storage slot written from zero. Head room is cheap: only the gas used is paid.
    const estimate = await estimateContractGas(client, request as never)
    const hash = await writeContract(client, { ...request, gas: withGasHeadroom(estimate) } as never)
    parameters.onSent?.(hash)
    parameters.onProgress?.({
      type: 'transaction:sent',
      detail: { functionName: context.functionName, hash },
    })
    const receipt = await waitForTransactionReceipt(client, { hash })
    if (receipt.status === 'reverted') {
      // Simulation passed but the mined transaction reverted. Say why: replayed on the state just
      // before its block the call names the contract's error; else it may have run out of gas.
      const replayed = await simulateContract(client, {
        address,
        abi: parameters.abi as Abi,
        functionName: String(functionName),
        args: parameters.args as readonly unknown[],
        account: parameters.account,
        chain: client.chain,
        blockNumber: receipt.blockNumber - 1n,
      }).then(
        () => undefined,
        (error: unknown) => toStoaContractError(error, context),
      )
      if (replayed) throw replayed
      const sent = await getTransaction(client, { hash })
      const outOfGas = receipt.gasUsed >= sent.gas
      throw new StoaContractError({
        ...context,
        transactionHash: hash,
        shortMessage: outOfGas
          ? `The ${context.functionName} transaction ran out of gas on chain (used ${receipt.gasUsed} of its ${sent.gas} limit) after its simulation succeeded. Try again.`
          : `The ${context.functionName} transaction reverted on chain after its simulation succeeded (the chain state changed in between). Try again.`,
      })
    }
    parameters.onProgress?.({
      type: 'transaction:confirmed',
      detail: { functionName: context.functionName, hash, blockNumber: receipt.blockNumber },
    })
    return { hash, receipt }
  } catch (error) {
    throw toStoaContractError(error, context) ?? error
  }
}

type ReadFunctionName<abi extends Abi> = ContractFunctionName<abi, 'view' | 'pure'>

/** `readContract` with reverts turned into `StoaContractError`s. */
export async function readStoaContract<
  const abi extends Abi,
  functionName extends ReadFunctionName<abi>,
  const args extends ContractFunctionArgs<abi, 'view' | 'pure', functionName>,
>(
  client: StoaActionClient,
  parameters: {
    address: Address
    abi: abi
    functionName: functionName
    args: args
    blockNumber?: bigint | undefined
  },
): Promise<ContractFunctionReturnType<abi, 'view' | 'pure', functionName, args>> {
  await assertDeploymentChain(client)
  try {
    return (await readContract(client, parameters as never)) as never
  } catch (error) {
    throw (
      toStoaContractError(error, {
        contractAddress: parameters.address,
        functionName: String(parameters.functionName),
      }) ?? error
    )
  }
}

/** The account a read is about: the parameter, else the client's account. */
export function subjectAddress(
  client: StoaActionClient,
  account: Address | undefined,
  field = 'account',
): Address {
  const address = account ?? client.account?.address
  if (!address) {
    throw new InvalidParameterError(field, 'an address (the client has no account to default to)', address)
  }
  return address
}
