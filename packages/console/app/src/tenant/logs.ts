import { BaseError } from '@stoa/protocol'
import { createGatewayClient, getProvider } from '@stoa/sdk/browser'
import { useEffect, useState } from 'react'
import { asError } from '../chain/indexer.ts'
import type { LeaseView } from '../chain/model.ts'
import { useConsole } from '../hooks.ts'
import type { TenantSession } from './account.ts'

/** Lines kept on screen; older ones scroll away. */
const MAX_LINES = 2_000

export type LeaseLogs = {
  lines: string[]
  state: 'idle' | 'connecting' | 'following' | 'ended' | 'error'
  error: Error | undefined
}

/**
 * Follows a lease's logs from its provider's gateway: the lease's services
 * (signed `GET /v1/leases/:id`), then one followed stream per service
 * (`GET /v1/leases/:id/logs?service=…&follow=1&tail=200`, chunked text), lines prefixed with the
 * service name when there are several. Streams end when the workload does; leaving the lease (or
 * the page) aborts them.
 */
export function useLeaseLogs(
  session: TenantSession | undefined,
  lease: LeaseView | undefined,
  enabled: boolean,
): LeaseLogs {
  const { client } = useConsole()
  const [logs, setLogs] = useState<LeaseLogs>({ lines: [], state: 'idle', error: undefined })
  const leaseId = lease?.leaseId
  const provider = lease?.provider

  useEffect(() => {
    if (!session || leaseId === undefined || provider === undefined || !enabled) {
      setLogs({ lines: [], state: 'idle', error: undefined })
      return
    }
    const controller = new AbortController()
    const { signal } = controller
    setLogs({ lines: [], state: 'connecting', error: undefined })
    const append = (line: string) =>
      setLogs((previous) => {
        const lines =
          previous.lines.length >= MAX_LINES ? previous.lines.slice(-MAX_LINES + 1) : previous.lines.slice()
        lines.push(line)
        return { ...previous, lines, state: 'following' }
      })
    const follow = async () => {
      const record = await getProvider(client, { provider })
      if (!record?.gatewayUrl) throw new BaseError(`Provider ${provider} has no gateway URL on record.`)
      const gateway = createGatewayClient({
        url: record.gatewayUrl,
        account: session.signer,
        chainId: client.deployment.chainId,
        market: client.deployment.contracts.market,
      })
      const status = await gateway.leaseStatus({ leaseId, signal })
      const services = status.services.map((service) => service.name)
      if (services.length === 0) {
        append(`(the provider reports ${status.status}, no service has started yet)`)
        return
      }
      setLogs((previous) => ({ ...previous, state: 'following' }))
      await Promise.all(
        services.map(async (service) => {
          for await (const line of gateway.logs({ leaseId, service, follow: true, tail: 200, signal })) {
            append(services.length > 1 ? `${service} | ${line}` : line)
          }
        }),
      )
    }
    follow().then(
      () => {
        if (!signal.aborted) setLogs((previous) => ({ ...previous, state: 'ended' }))
      },
      (error: unknown) => {
        if (!signal.aborted) setLogs((previous) => ({ ...previous, state: 'error', error: asError(error) }))
      },
    )
    return () => controller.abort()
  }, [client, session, leaseId, provider, enabled])

  return logs
}
