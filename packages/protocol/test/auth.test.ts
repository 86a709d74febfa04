import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  type Address,
  concat,
  encodeAbiParameters,
  type Hex,
  hashTypedData,
  keccak256,
  parseSignature,
  serializeSignature,
  sha256,
  stringToBytes,
  toHex,
  zeroHash,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import {
  GatewayAuthError,
  type GatewayAuthErrorCode,
  type GatewayRequestHeaders,
  gatewayBodyHash,
  gatewayRequestTypedData,
  hashGatewayRequest,
  InvalidParameterError,
  leaseIdFromPath,
  signGatewayRequest,
  type VerifyGatewayRequestParameters,
  verifyGatewayRequest,
} from '../src/index.ts'

// anvil's first two development keys.
const tenant = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
const other = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d')
const chainId = 31337
const market: Address = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const now = 1_700_000_000
const leaseId = (7n << 32n) | 2n
const path = `/v1/leases/${leaseId}/manifest`
const body = JSON.stringify({ manifest: { version: '1' } })

const signed = (overrides: Partial<Parameters<typeof signGatewayRequest>[0]> = {}) =>
  signGatewayRequest({ account: tenant, chainId, market, method: 'PUT', path, body, now, ...overrides })

const verify = (
  headers: VerifyGatewayRequestParameters['headers'],
  overrides: Partial<VerifyGatewayRequestParameters> = {},
) => verifyGatewayRequest({ headers, chainId, market, method: 'PUT', path, body, now, ...overrides })

async function rejectsWith(promise: Promise<unknown>, code: GatewayAuthErrorCode) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof GatewayAuthError, `expected a GatewayAuthError, got ${error}`)
    assert.equal(error.code, code, error.shortMessage)
    assert.equal(error.status, 401)
    assert.equal(error.name, 'GatewayAuthError')
    return true
  })
}

describe('gateway request signing', () => {
  test('a signed request verifies and yields signer, nonce, expiry and lease', async () => {
    const headers = await signed({ nonce: 42n })
    assert.deepEqual(headers, {
      'x-stoa-signature': headers['x-stoa-signature'],
      'x-stoa-signer': tenant.address,
      'x-stoa-nonce': '42',
      'x-stoa-expiry': String(now + 60),
    })
    assert.match(headers['x-stoa-signature'], /^0x[0-9a-f]{130}$/)
    assert.deepEqual(await verify(headers), { signer: tenant.address, nonce: 42n, expiry: now + 60, leaseId })
  })

  test('the typed data is the spec’s, computed here from EIP-712 by hand', async () => {
    const message = { method: 'put', path, body, leaseId, nonce: 5n, expiry: 1_700_000_060n }
    const typedData = gatewayRequestTypedData({ chainId, market, ...message })
    const typeHash = keccak256(
      stringToBytes(
        'GatewayRequest(string method,string path,bytes32 bodyHash,uint256 leaseId,uint256 nonce,uint64 expiry)',
      ),
    )
    const structHash = keccak256(
      encodeAbiParameters(
        [
          { type: 'bytes32' },
          { type: 'bytes32' },
          { type: 'bytes32' },
          { type: 'bytes32' },
          { type: 'uint256' },
          { type: 'uint256' },
          { type: 'uint64' },
        ],
        [
          typeHash,
          keccak256(stringToBytes('PUT')),
          keccak256(stringToBytes(path)),
          sha256(stringToBytes(body)),
          leaseId,
          5n,
          1_700_000_060n,
        ],
      ),
    )
    const domainSeparator = keccak256(
      encodeAbiParameters(
        [
          { type: 'bytes32' },
          { type: 'bytes32' },
          { type: 'bytes32' },
          { type: 'uint256' },
          { type: 'address' },
        ],
        [
          keccak256(
            stringToBytes(
              'EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)',
            ),
          ),
          keccak256(stringToBytes('Stoa Gateway')),
          keccak256(stringToBytes('1')),
          BigInt(chainId),
          market,
        ],
      ),
    )
    assert.equal(hashTypedData(typedData), keccak256(concat(['0x1901', domainSeparator, structHash])))
  })

  test('property: hashGatewayRequest is hashTypedData for any request, chain and market', () => {
    fc.assert(
      fc.property(
        fc.record({
          chainId: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
          market: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((bytes) => toHex(bytes) as Address),
          method: fc.constantFrom('GET', 'put', 'Post', 'DELETE'),
          path: fc.string({ unit: 'grapheme', maxLength: 200 }).map((text) => `/${text}`),
          body: fc.option(fc.string({ unit: 'grapheme', maxLength: 100 }), { nil: undefined }),
          leaseId: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
          nonce: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
          expiry: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        }),
        (request) => {
          const typedData = gatewayRequestTypedData(request)
          assert.equal(hashGatewayRequest(typedData), hashTypedData(typedData))
        },
      ),
      { numRuns: 300 },
    )
  })

  test('an account without `sign` signs the typed data; a given recoverAddress is used', async () => {
    const typedOnly = { address: tenant.address, signTypedData: tenant.signTypedData }
    const fromTyped = await signed({ account: typedOnly, nonce: 9n })
    const fromDigest = await signed({ account: tenant, nonce: 9n })
    assert.equal(fromTyped['x-stoa-signature'], fromDigest['x-stoa-signature'])
    const seen: Hex[] = []
    const verified = await verify(fromTyped, {
      recoverAddress: (hash, signature) => {
        seen.push(hash)
        return signature === fromTyped['x-stoa-signature'] ? tenant.address : other.address
      },
    })
    assert.equal(verified.signer, tenant.address)
    assert.equal(seen.length, 1)
    await rejectsWith(verify(fromTyped, { recoverAddress: () => other.address }), 'bad-signature')
    await rejectsWith(
      verify(fromTyped, {
        recoverAddress: () => {
          throw new Error('no key')
        },
      }),
      'bad-signature',
    )
  })

  test('body hash: sha256 of the raw bytes, zero for none', () => {
    assert.equal(gatewayBodyHash(undefined), zeroHash)
    assert.equal(gatewayBodyHash(''), zeroHash)
    assert.equal(gatewayBodyHash(new Uint8Array()), zeroHash)
    assert.equal(gatewayBodyHash('abc'), '0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    assert.equal(gatewayBodyHash(stringToBytes('abc')), gatewayBodyHash('abc'))
  })

  test('a GET without a body, a body given as bytes, a lower-case method', async () => {
    const logs = `/v1/leases/${leaseId}/logs?service=web&tail=10`
    const headers = await signed({ method: 'get', path: logs, body: undefined })
    const result = await verify(headers, { method: 'GET', path: logs, body: undefined })
    assert.equal(result.leaseId, leaseId)
    await verify(await signed(), { body: stringToBytes(body) })
  })

  test('the lease comes from the path, or is given; paths without one sign lease 0', async () => {
    assert.equal(leaseIdFromPath('/v1/leases/123'), 123n)
    assert.equal(leaseIdFromPath('/v1/leases/123/results/frame.ppm'), 123n)
    assert.equal(leaseIdFromPath('/v1/leases/123?x=1'), 123n)
    assert.equal(leaseIdFromPath('/v1/leases/12a'), 0n)
    assert.equal(leaseIdFromPath('/v1/capacity'), 0n)
    assert.equal(leaseIdFromPath(`/v1/leases/${2n ** 256n}`), 0n)
    const health = await signed({ path: '/v1/admin', method: 'POST' })
    assert.equal((await verify(health, { path: '/v1/admin', method: 'POST' })).leaseId, 0n)
    const explicit = await signed({ path: '/v1/admin', leaseId: 9n })
    assert.equal((await verify(explicit, { path: '/v1/admin', leaseId: 9n })).leaseId, 9n)
    await rejectsWith(verify(explicit, { path: '/v1/admin' }), 'bad-signature')
  })

  test('a signTypedData function works as the account', async () => {
    const headers = await signed({ account: (typedData) => other.signTypedData(typedData) })
    assert.equal(headers['x-stoa-signer'], other.address)
    assert.equal((await verify(headers)).signer, other.address)
  })

  test('nonces are random 128-bit numbers by default', async () => {
    const nonces = new Set<string>()
    for (let i = 0; i < 20; i++) nonces.add((await signed())['x-stoa-nonce'])
    assert.equal(nonces.size, 20)
    for (const nonce of nonces) assert.ok(BigInt(nonce) < 2n ** 128n)
  })

  test('headers are read from a fetch Headers, or a record in any case', async () => {
    const headers = await signed()
    await verify(new Headers(headers))
    const upper = Object.fromEntries(
      Object.entries(headers).map(([key, value]) => [key.toUpperCase(), value]),
    )
    await verify(upper)
    await verify(Object.fromEntries(Object.entries(headers).map(([key, value]) => [key, [value]])))
  })

  test('changing any signed part of the request gives bad-signature', async () => {
    const headers = await signed({ nonce: 1n, expiry: now + 100 })
    const tampered: [string, () => Promise<unknown>][] = [
      ['method', () => verify(headers, { method: 'POST' })],
      ['path', () => verify(headers, { path: `${path}?x=1` })],
      ['lease in the path', () => verify(headers, { path: `/v1/leases/${leaseId + 1n}/manifest` })],
      ['lease', () => verify(headers, { leaseId: leaseId + 1n })],
      ['body', () => verify(headers, { body: `${body} ` })],
      ['no body', () => verify(headers, { body: undefined })],
      ['nonce', () => verify({ ...headers, 'x-stoa-nonce': '2' })],
      ['expiry', () => verify({ ...headers, 'x-stoa-expiry': String(now + 99) })],
      ['chain', () => verify(headers, { chainId: 1 })],
      ['market', () => verify(headers, { market: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' })],
      ['signer', () => verify({ ...headers, 'x-stoa-signer': other.address })],
    ]
    for (const [what, request] of tampered) {
      await rejectsWith(request(), 'bad-signature').catch((error: Error) => {
        throw new Error(`${what}: ${error.message}`)
      })
    }
    // Another account's valid signature over the same request verifies as that account: the
    // gateway's tenant check (403) is what refuses it.
    const byOther = await signed({ account: other, nonce: 1n, expiry: now + 100 })
    assert.equal((await verify(byOther)).signer, other.address)
  })

  test('expired and far-future requests', async () => {
    await rejectsWith(verify(await signed({ expiry: now - 1 })), 'expired')
    await verify(await signed({ expiry: now }))
    await verify(await signed({ expiry: now + 300 }))
    await rejectsWith(verify(await signed({ expiry: now + 301 })), 'expiry-too-far')
    await verify(await signed({ expiry: now + 301 }), { maxSkewSeconds: 301 })
    await rejectsWith(verify(await signed({ expiry: now + 10 }), { now: now + 11 }), 'expired')
  })

  test('missing and malformed headers', async () => {
    const headers = await signed()
    const without = (name: keyof GatewayRequestHeaders) => {
      const copy: Record<string, string> = { ...headers }
      delete copy[name]
      return copy
    }
    await rejectsWith(verify({}), 'missing-signature')
    await rejectsWith(verify(without('x-stoa-signature')), 'missing-signature')
    await rejectsWith(verify(without('x-stoa-signer')), 'malformed')
    await rejectsWith(verify(without('x-stoa-nonce')), 'malformed')
    await rejectsWith(verify(without('x-stoa-expiry')), 'malformed')
    const signature = headers['x-stoa-signature']
    const { r, s, yParity } = parseSignature(signature)
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    const highS = serializeSignature({
      r,
      s: toHex(n - BigInt(s), { size: 32 }),
      yParity: yParity === 0 ? 1 : 0,
    })
    const malformed: [string, Record<string, string | string[]>][] = [
      ['short signature', { ...headers, 'x-stoa-signature': signature.slice(0, -2) }],
      ['not hex', { ...headers, 'x-stoa-signature': `0x${'g'.repeat(130)}` }],
      ['no 0x', { ...headers, 'x-stoa-signature': signature.slice(2) }],
      ['bad v', { ...headers, 'x-stoa-signature': `${signature.slice(0, -2)}1d` as Hex }],
      ['zero r', { ...headers, 'x-stoa-signature': `0x${'0'.repeat(64)}${signature.slice(66)}` }],
      ['high s (malleated)', { ...headers, 'x-stoa-signature': highS }],
      ['signer not an address', { ...headers, 'x-stoa-signer': '0x1234' }],
      ['nonce with a leading zero', { ...headers, 'x-stoa-nonce': '042' }],
      ['negative nonce', { ...headers, 'x-stoa-nonce': '-1' }],
      ['hex nonce', { ...headers, 'x-stoa-nonce': '0x2a' }],
      ['nonce over uint256', { ...headers, 'x-stoa-nonce': (2n ** 256n).toString() }],
      ['expiry in words', { ...headers, 'x-stoa-expiry': 'soon' }],
      ['expiry over uint64', { ...headers, 'x-stoa-expiry': (2n ** 64n).toString() }],
      ['expiry with a fraction', { ...headers, 'x-stoa-expiry': `${now}.5` }],
      ['two signatures', { ...headers, 'x-stoa-signature': [signature, signature] }],
    ]
    for (const [what, value] of malformed) {
      await rejectsWith(verify(value), 'malformed').catch((error: Error) => {
        throw new Error(`${what}: ${error.message}`)
      })
    }
    await rejectsWith(verify(headers, { path: 'v1/leases' }), 'malformed')
    await rejectsWith(verify(headers, { method: 'GET /' }), 'malformed')
  })

  test('bad arguments from the caller are InvalidParameterError', async () => {
    await assert.rejects(signed({ path: 'http://x/v1' }), InvalidParameterError)
    await assert.rejects(signed({ method: '' }), InvalidParameterError)
    await assert.rejects(signed({ chainId: 0 }), InvalidParameterError)
    await assert.rejects(signed({ market: '0x12' }), InvalidParameterError)
    await assert.rejects(signed({ nonce: -1n }), InvalidParameterError)
    await assert.rejects(signed({ expiry: 2n ** 64n }), InvalidParameterError)
    await assert.rejects(signed({ leaseId: -1n }), InvalidParameterError)
    await assert.rejects(signed({ leaseId: 1.5 }), InvalidParameterError)
    await assert.rejects(signed({ expiry: now + 0.5 }), InvalidParameterError)
    const headers = await signed()
    await assert.rejects(verify(headers, { chainId: -1 }), InvalidParameterError)
    await assert.rejects(verify(headers, { now: Number.NaN }), InvalidParameterError)
  })

  test('property: random header values never throw anything but GatewayAuthError', async () => {
    const valid = await signed()
    const headerValue = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.stringMatching(/^0x[0-9a-fA-F]{0,140}$/),
      fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }).map(String),
      fc.constantFrom(...Object.values(valid)),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.constant(undefined),
      fc.anything() as fc.Arbitrary<string>,
    )
    const names = [...Object.keys(valid), 'X-Stoa-Signature', 'x-stoa-nonce ', 'other']
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom(...names), headerValue, { maxKeys: 6 }),
        fc.boolean(),
        async (random, mixWithValid) => {
          const headers = mixWithValid ? { ...valid, ...random } : random
          try {
            await verify(headers as Record<string, string>)
          } catch (error) {
            if (!(error instanceof GatewayAuthError)) assert.fail(`threw ${String(error)}`)
          }
        },
      ),
      { numRuns: 500 },
    )
  })

  test('property: a request verifies exactly as signed, and any one change breaks it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE'),
          path: fc.webPath().map((webPath) => `/${webPath.replace(/^\/+/, '')}`),
          body: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
          leaseId: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
          nonce: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }),
          expiry: fc.integer({ min: now, max: now + 300 }),
        }),
        fc.constantFrom('method', 'path', 'body', 'leaseId', 'nonce', 'expiry'),
        async (request, change) => {
          const headers = await signGatewayRequest({ account: tenant, chainId, market, ...request })
          const base = { ...request, headers, chainId, market, now }
          const verified = await verifyGatewayRequest(base)
          assert.equal(verified.signer, tenant.address)
          assert.equal(verified.nonce, request.nonce)
          const changed: VerifyGatewayRequestParameters = { ...base }
          if (change === 'method') changed.method = request.method === 'GET' ? 'PUT' : 'GET'
          if (change === 'path') changed.path = `${request.path}x`
          if (change === 'body') changed.body = new Uint8Array([...(request.body ?? []), 1])
          if (change === 'leaseId') changed.leaseId = request.leaseId ^ 1n
          if (change === 'nonce') changed.headers = { ...headers, 'x-stoa-nonce': String(request.nonce ^ 1n) }
          if (change === 'expiry') {
            changed.headers = {
              ...headers,
              'x-stoa-expiry': String(request.expiry === now ? now + 1 : request.expiry - 1),
            }
          }
          await rejectsWith(verifyGatewayRequest(changed), 'bad-signature')
        },
      ),
      { numRuns: 100 },
    )
  })
})
