/**
 * Structured logs: one JSON object per line (`{"level":30,"time":…,"msg":…}`), the shape pino and
 * Fastify write, so any pino tool reads them. Small and dependency-free so an idle daemon stays
 * light; it also satisfies Fastify's `loggerInstance` interface, so the gateway logs through it.
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'

const levelValues: Record<LogLevel, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
}

type LogFn = {
  (message: string): void
  (fields: Record<string, unknown>, message?: string): void
}

export type Logger = {
  level: LogLevel
  trace: LogFn
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
  fatal: LogFn
  silent: LogFn
  /** A logger that adds `bindings` to every line (`{ service: 'bid-engine' }`). */
  child(bindings: Record<string, unknown>, options?: { level?: LogLevel }): Logger
}

export type CreateLoggerParameters = {
  level?: LogLevel
  /** Where lines go; default process.stdout. */
  write?: (line: string) => void
  bindings?: Record<string, unknown>
}

/** Serializes what JSON.stringify cannot: bigints as decimal strings, errors as { type, message, stack }. */
function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Error) {
    const short = (value as { shortMessage?: unknown }).shortMessage
    return {
      type: value.name,
      message: typeof short === 'string' ? short : value.message,
      ...(typeof (value as unknown as { code?: unknown }).code === 'string'
        ? { code: (value as unknown as { code: string }).code }
        : {}),
      stack: value.stack,
    }
  }
  return value
}

export function createLogger(parameters: CreateLoggerParameters = {}): Logger {
  const write = parameters.write ?? ((line: string) => process.stdout.write(line))
  return build(parameters.level ?? 'info', parameters.bindings ?? {}, write)
}

function build(level: LogLevel, bindings: Record<string, unknown>, write: (line: string) => void): Logger {
  const logger: Logger = {
    level,
    child: (more, options) => build(options?.level ?? logger.level, { ...bindings, ...more }, write),
  } as Logger
  for (const name of Object.keys(levelValues) as LogLevel[]) {
    const value = levelValues[name]
    logger[name] = ((fieldsOrMessage: Record<string, unknown> | string, message?: string) => {
      if (name === 'silent' || value < levelValues[logger.level]) return
      const fields = typeof fieldsOrMessage === 'string' ? {} : fieldsOrMessage
      const msg = typeof fieldsOrMessage === 'string' ? fieldsOrMessage : message
      const entry = { level: value, time: Date.now(), ...bindings, ...fields, ...(msg ? { msg } : {}) }
      let line: string
      try {
        line = JSON.stringify(entry, replacer)
      } catch {
        line = JSON.stringify({
          level: value,
          time: entry.time,
          ...bindings,
          msg,
          logError: 'unserializable fields',
        })
      }
      write(`${line}\n`)
    }) as LogFn
  }
  return logger
}

/** A logger that drops everything (the default for services built without one). */
export const silentLogger: Logger = createLogger({ level: 'silent', write: () => {} })
