import canonicalize from 'canonicalize'
import { type Hex, sha256, stringToBytes } from 'viem'
import { type ManifestIssue, ManifestValidationError } from './errors.ts'
import {
  checkManifestRules,
  formatPath,
  fromZodIssues,
  normalizedManifestSchema,
  protoKeyIssues,
  type RawIssue,
  zodMessage,
} from './schema.ts'
import type { NormalizedManifest } from './types.ts'

export type ValidateNormalizedManifestErrorType = ManifestValidationError

/**
 * Checks that `value` (parsed JSON) is a normalized manifest, strictly: every field present, no
 * unknown field, values in range and in normal form (sorted ports and regions, a deposit that
 * matches its duration). This is what a provider's gateway runs on a manifest it receives before
 * hashing it. Returns the manifest, typed; throws `ManifestValidationError` listing every problem.
 */
export function validateNormalizedManifest(value: unknown): NormalizedManifest {
  const parsed = normalizedManifestSchema.safeParse(value, { reportInput: true, error: zodMessage })
  const issues = [...protoKeyIssues(value), ...(parsed.success ? [] : fromZodIssues(parsed.error.issues))]
  if (!parsed.success || issues.length > 0) throw new ManifestValidationError(toIssues(issues))
  // The schema is strict and mirrors `NormalizedManifest`; the union of image | wasm is checked by the rules.
  const manifest = parsed.data as NormalizedManifest
  const ruleIssues = checkManifestRules(manifest, 'normalized')
  if (ruleIssues.length > 0) throw new ManifestValidationError(toIssues(ruleIssues))
  return manifest
}

function toIssues(issues: RawIssue[]): ManifestIssue[] {
  return issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }))
}

/**
 * The RFC 8785 (JCS) JSON text of a normalized manifest: keys sorted, no whitespace, one text per
 * manifest. Validates first, so nothing but a valid normalized manifest is ever hashed.
 */
export function canonicalManifest(manifest: NormalizedManifest): string {
  const valid = validateNormalizedManifest(manifest)
  const text = canonicalize(valid)
  // Unreachable for a validated manifest (a JSON object always serializes).
  if (text === undefined)
    throw new ManifestValidationError([{ path: '(root)', message: 'expected a JSON object' }])
  return text
}

/** sha256 of the canonical manifest, as the `bytes32` that `Market.createOrder` records. */
export function manifestHash(manifest: NormalizedManifest): Hex {
  return sha256(stringToBytes(canonicalManifest(manifest)))
}

/** The digest that names a WASI module in a manifest and in a submission: sha256, `0x` and lowercase hex. */
export function moduleDigest(bytes: Uint8Array): Hex {
  return sha256(bytes)
}
