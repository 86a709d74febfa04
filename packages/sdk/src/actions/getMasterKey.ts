import { type DeriveMasterKeyErrorType, deriveMasterKey, masterKeyMessage } from '@stoa/storage'
import type { Account, Address } from 'viem'
import { signMessage } from 'viem/actions'
import type { AccountRequiredErrorType } from '../internal/write.ts'
import { resolveAccount } from '../internal/write.ts'
import type { StoaActionClient } from '../types.ts'

export type GetMasterKeyParameters = {
  /** The signing account (default the client's). */
  account?: Account | Address | undefined
  /** A user secret instead of the account's signature (at least 16 bytes; a string is taken as UTF-8). */
  secret?: string | Uint8Array | undefined
}

/** 32 bytes: never leaves this machine; providers and repairers never see it. */
export type GetMasterKeyReturnType = Uint8Array

export type GetMasterKeyErrorType = AccountRequiredErrorType | DeriveMasterKeyErrorType

/**
 * The account's storage master key: HKDF-SHA256 of its EIP-191 signature of
 * `Stoa storage master key v1` (deterministic, RFC 6979), so the same account gets the same key
 * on any machine.
 */
export async function getMasterKey(
  client: StoaActionClient,
  parameters: GetMasterKeyParameters = {},
): Promise<GetMasterKeyReturnType> {
  if (parameters.secret !== undefined) return deriveMasterKey({ secret: parameters.secret })
  const account = resolveAccount(client, parameters.account, 'getMasterKey')
  const signature = await signMessage(client, { account, message: masterKeyMessage })
  return deriveMasterKey({ signature })
}
