import type { Hex } from 'viem'
import { type ManifestIssue, ManifestValidationError } from './errors.ts'
import { manifestLimits as limits } from './limits.ts'
import { formatPath } from './schema.ts'
import type { NormalizedManifest } from './types.ts'
import { manifestHash, moduleDigest, validateNormalizedManifest } from './validate.ts'

/** The body of `PUT /v1/leases/:leaseId/manifest`: the normalized manifest and its modules in base64. */
export type ManifestSubmission = {
  manifest: NormalizedManifest
  modules?: Record<Hex, string>
}

export type DecodedManifestSubmission = {
  manifest: NormalizedManifest
  /** Every module the manifest names, checked against its sha256 and size. */
  modules: Map<Hex, Uint8Array>
  /** `manifestHash(manifest)`, to compare with the order's on chain. */
  hash: Hex
}

/**
 * Builds the submission body for a manifest: exactly the modules it names, in base64. Throws
 * `ManifestValidationError` when a module is missing or does not match its digest.
 */
export function encodeManifestSubmission(parameters: {
  manifest: NormalizedManifest
  modules: ReadonlyMap<Hex, Uint8Array>
}): ManifestSubmission {
  const manifest = validateNormalizedManifest(parameters.manifest)
  const issues: ManifestIssue[] = []
  const modules: Record<Hex, string> = {}
  for (const [name, service] of Object.entries(manifest.services)) {
    if (service.wasm === undefined || service.wasm.sha256 in modules) continue
    const bytes = parameters.modules.get(service.wasm.sha256)
    if (
      bytes === undefined ||
      bytes.length !== service.wasm.size ||
      moduleDigest(bytes) !== service.wasm.sha256
    ) {
      issues.push({
        path: formatPath(['services', name, 'wasm']),
        message: `expected the bytes of module ${service.wasm.sha256} (${service.wasm.size} bytes) among the modules`,
      })
      continue
    }
    modules[service.wasm.sha256] = encodeBase64(bytes)
  }
  if (issues.length > 0) throw new ManifestValidationError(issues)
  return Object.keys(modules).length > 0 ? { manifest, modules } : { manifest }
}

/**
 * Reads a submission body (parsed JSON) on the provider side: validates the manifest strictly,
 * decodes every module and checks it against the digest and size the manifest gives, refuses
 * missing and unnamed modules. Throws `ManifestValidationError` (paths start with `manifest.` or
 * `modules`).
 */
export function decodeManifestSubmission(body: unknown): DecodedManifestSubmission {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ManifestValidationError([{ path: '(root)', message: 'expected { manifest, modules? }' }])
  }
  const issues: ManifestIssue[] = []
  for (const key of Object.keys(body)) {
    if (key !== 'manifest' && key !== 'modules') {
      issues.push({ path: formatPath([key]), message: `unknown field ${JSON.stringify(key)}` })
    }
  }
  let manifest: NormalizedManifest | undefined
  try {
    manifest = validateNormalizedManifest((body as { manifest?: unknown }).manifest)
  } catch (error) {
    if (!(error instanceof ManifestValidationError)) throw error
    for (const issue of error.issues) {
      issues.push({
        ...issue,
        path:
          issue.path === '(root)'
            ? 'manifest'
            : `manifest${issue.path.startsWith('[') ? '' : '.'}${issue.path}`,
      })
    }
  }
  const rawModules = (body as { modules?: unknown }).modules ?? {}
  const modules = new Map<Hex, Uint8Array>()
  if (typeof rawModules !== 'object' || rawModules === null || Array.isArray(rawModules)) {
    issues.push({ path: 'modules', message: 'expected a map of sha256 to base64 module bytes' })
  } else if (manifest) {
    const named = new Map<string, number>()
    for (const service of Object.values(manifest.services)) {
      if (service.wasm) named.set(service.wasm.sha256, service.wasm.size)
    }
    for (const [digest, text] of Object.entries(rawModules)) {
      const path = formatPath(['modules', digest])
      const size = named.get(digest)
      if (size === undefined) {
        issues.push({ path, message: 'expected only modules the manifest names' })
        continue
      }
      const bytes =
        typeof text === 'string' && text.length <= Math.ceil(limits.maxWasmModuleBytes / 3) * 4
          ? decodeBase64(text)
          : undefined
      if (bytes === undefined) {
        issues.push({
          path,
          message: `expected the module's bytes in base64 (at most ${limits.maxWasmModuleBytes} bytes)`,
        })
      } else if (bytes.length !== size || moduleDigest(bytes) !== digest) {
        issues.push({ path, message: `expected bytes whose sha256 is ${digest} (${size} bytes)` })
      } else {
        modules.set(digest as Hex, bytes)
      }
    }
    for (const [digest] of named) {
      if (!(digest in rawModules)) {
        issues.push({
          path: formatPath(['modules', digest]),
          message: 'expected the module the manifest names',
        })
      }
    }
  }
  if (issues.length > 0 || !manifest) throw new ManifestValidationError(issues)
  return { manifest, modules, hash: manifestHash(manifest) }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

function encodeBase64(bytes: Uint8Array): string {
  if (typeof Buffer !== 'undefined')
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64')
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}

function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return undefined
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(text, 'base64'))
  const binary = atob(text)
  return Uint8Array.from(binary, (character) => character.charCodeAt(0))
}
