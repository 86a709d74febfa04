// Helpers of the provider-storage tests: signed storage requests (lease 0; an upload body signed
// with the zero body hash) and an upload from start to root.
import assert from 'node:assert/strict'
import { signGatewayRequest } from '@stoa/protocol'
import type { Hex } from 'viem'
import type { PrivateKeyAccount } from 'viem/accounts'
import type { GatewayTarget } from './daemon-fixture.ts'

export type StorageFetchOptions = {
  /** A JSON body: signed, sent as application/json. */
  json?: unknown
  /** Upload bytes: sent as application/octet-stream, NOT signed (zero body hash). */
  bytes?: Uint8Array | ReadableStream<Uint8Array>
  nonce?: bigint
  /** Sent instead of the signed JSON body (a tampered request). */
  sendJson?: unknown
  headers?: Record<string, string>
  unsigned?: boolean
  signal?: AbortSignal
}

export async function storageFetch(
  target: GatewayTarget,
  account: PrivateKeyAccount,
  method: string,
  path: string,
  options: StorageFetchOptions = {},
): Promise<Response> {
  const { deployment } = target.config.chain
  const jsonText = options.json !== undefined ? JSON.stringify(options.json) : undefined
  const signed = options.unsigned
    ? {}
    : await signGatewayRequest({
        account,
        chainId: deployment.chainId,
        market: deployment.contracts.market,
        method,
        path,
        ...(jsonText !== undefined ? { body: jsonText } : {}),
        ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
      })
  const sentText = options.sendJson !== undefined ? JSON.stringify(options.sendJson) : jsonText
  const headers: Record<string, string> = { ...signed, ...options.headers }
  let body: string | Uint8Array | ReadableStream<Uint8Array> | undefined
  if (sentText !== undefined) {
    headers['content-type'] = 'application/json'
    body = sentText
  } else if (options.bytes !== undefined) {
    headers['content-type'] = 'application/octet-stream'
    body = options.bytes
  }
  return await fetch(`${target.gatewayUrl}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.bytes instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit)
}

export async function errorOf(
  response: Response,
): Promise<{ status: number; code: string; message: string }> {
  const body = (await response.json()) as { error: { code: string; message: string } }
  return { status: response.status, code: body.error.code, message: body.error.message }
}

/** Creates an upload and sends `data` in one PUT; returns the upload id and the root. */
export async function uploadShard(
  target: GatewayTarget,
  account: PrivateKeyAccount,
  data: Uint8Array,
  erasureIndex = 0,
): Promise<{ uploadId: string; root: Hex }> {
  const created = await storageFetch(target, account, 'POST', '/v1/storage/uploads', {
    json: { size: data.length, erasureIndex },
  })
  assert.equal(created.status, 201, await created.clone().text())
  const { uploadId } = (await created.json()) as { uploadId: string }
  const put = await storageFetch(target, account, 'PUT', `/v1/storage/uploads/${uploadId}`, { bytes: data })
  assert.equal(put.status, 200, await put.clone().text())
  const { root, size } = (await put.json()) as { root: Hex; size: number }
  assert.equal(size, data.length)
  return { uploadId, root }
}
