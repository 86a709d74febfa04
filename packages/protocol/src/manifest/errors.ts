import { BaseError } from '../errors/base.ts'

/** One problem in a manifest: where it is and what was expected there. */
export type ManifestIssue = {
  /** The field path, `services.web.resources.memory` or `services.web.expose[0].port`; `(root)` for the whole document. */
  path: string
  /** What is wrong, phrased as what was expected: `expected a size like "256Mi", got 12`. */
  message: string
  /** 1-based line in the YAML text, when the manifest came from YAML and the field is in it. */
  line?: number
  /** 1-based column in the YAML text. */
  column?: number
}

export type ManifestValidationErrorType = ManifestValidationError & { name: 'ManifestValidationError' }

/**
 * A manifest (YAML or normalized JSON) is not valid. `issues` lists every problem found, each with
 * its field path (and line and column for YAML); `shortMessage` names the first.
 */
export class ManifestValidationError extends BaseError {
  issues: ManifestIssue[]

  constructor(issues: ManifestIssue[], options: { source?: string | undefined; cause?: unknown } = {}) {
    const listed = issues.length > 0 ? issues : [{ path: '(root)', message: 'invalid manifest' }]
    const [first] = listed
    const more = listed.length > 1 ? ` (and ${listed.length - 1} more)` : ''
    const where = options.source ? ` ${options.source}` : ''
    super(`Invalid manifest${where}: ${formatManifestIssue(first as ManifestIssue)}${more}.`, {
      name: 'ManifestValidationError',
      metaMessages: listed.length > 1 ? listed.map((issue) => `- ${formatManifestIssue(issue)}`) : undefined,
      docsPath: 'docs/compute-spec.md#manifest-packagesprotocolsrcmanifest',
      cause: options.cause,
    })
    this.issues = listed
  }
}

/** `services.web.cpu: expected a number of cores like 0.5 (line 4, column 10)` */
export function formatManifestIssue(issue: ManifestIssue): string {
  const position =
    issue.line === undefined
      ? ''
      : ` (line ${issue.line}${issue.column === undefined ? '' : `, column ${issue.column}`})`
  return `${issue.path}: ${issue.message}${position}`
}
