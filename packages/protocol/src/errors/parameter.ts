import { BaseError } from './base.ts'

export type InvalidParameterErrorType = InvalidParameterError & { name: 'InvalidParameterError' }

/** A caller passed a bad value; `field` names it (`resources.memoryMiB`). Thrown before anything is sent. */
export class InvalidParameterError extends BaseError {
  field: string
  constructor(field: string, expected: string, received: unknown, options: { cause?: unknown } = {}) {
    super(`Invalid \`${field}\`: expected ${expected}, got ${describeValue(received)}.`, {
      name: 'InvalidParameterError',
      cause: options.cause,
    })
    this.field = field
  }
}

/** A short, safe rendering of a value for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (typeof value === 'object') return 'an object'
  return String(value)
}
