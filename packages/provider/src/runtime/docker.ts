import { execFile } from 'node:child_process'
import { access, chmod, chown, constants, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { compareCodeUnits } from '@stoa/protocol'
import Docker from 'dockerode'
import { DockerLogDemuxer } from './docker-logs.ts'
import {
  DockerUnavailableError,
  GpuUnavailableError,
  HostFirewallError,
  ImageNotFoundError,
  PortNotExposedError,
  ServiceNotRunningError,
  WorkloadExistsError,
  WorkloadNotFoundError,
  WorkloadStartError,
} from './errors.ts'
import { listResultFiles } from './results.ts'
import type {
  LogsOptions,
  ResultFile,
  Runtime,
  WorkloadHandle,
  WorkloadKind,
  WorkloadSpec,
  WorkloadStatus,
} from './types.ts'
import { validateWorkloadSpec } from './validate.ts'

const execFileAsync = promisify(execFile)

/** The user every container runs as: nobody/nogroup, never root. */
export const CONTAINER_USER = '65534:65534'
export const DEFAULT_SERVICE_NETWORK = 'stoa-services'

/** Labels on every container this runtime creates; `list()` finds workloads by them. */
export const labels = {
  provider: 'stoa.provider',
  lease: 'stoa.lease',
  service: 'stoa.service',
  workload: 'stoa.workload',
  kind: 'stoa.kind',
  /** Wall-clock deadline, ms since the epoch ("0": none); a restarted daemon re-arms it. */
  deadline: 'stoa.deadline',
  /** Exposed ports, comma-separated. */
  expose: 'stoa.expose',
  /** When start() created it, ms since the epoch (the engine's own Created has second precision). */
  created: 'stoa.created',
} as const

export type CreateDockerRuntimeParameters = {
  /** Engine client; default `new Docker()` (DOCKER_HOST or /var/run/docker.sock). */
  docker?: Docker
  /** Provider data directory: default results dirs (`results/<id>`) and timeout markers (`docker/<id>`). */
  dataDir: string
  /** Owner label value: this provider's address. Containers of other providers on the same engine are ignored. */
  providerId: string
  /** The internal bridge network services join (created if missing). Default `stoa-services`. */
  networkName?: string
  /**
   * How service containers are kept away from the host's own ports (an internal network still
   * routes to the host's addresses). `iptables` (default): INPUT rules on the bridge dropping
   * everything but replies, installed once per process. `none`: the operator does it.
   */
  hostFirewall?: 'iptables' | 'none'
  /** `auto` (default): attach GPUs when the host has the NVIDIA driver and container toolkit. false: never. */
  gpu?: 'auto' | false
  /** json-file log cap per container: size of one file in MiB (two files are kept). Default 10. */
  logFileMiB?: number
}

export type DockerRuntime = Runtime & {
  readonly kind: 'docker'
  /** `ip:port` of a running service on the internal network, for the ingress. Only exposed ports. */
  serviceAddress(id: string, port: number): Promise<string>
  /** Throws DockerUnavailableError when the engine does not answer. */
  ping(): Promise<void>
}

type ContainerInfo = Docker.ContainerInspectInfo

/**
 * The Docker runtime (docs/compute-spec.md, Runtimes). Every workload is one container, named
 * `stoa-<provider>-<id>` and labelled with its provider, lease, service and deadline, so the
 * engine itself is the state: a restarted daemon finds its containers with `list()`.
 *
 * Isolation: CPU (NanoCpus), memory with no swap, a pids limit, no capabilities,
 * no-new-privileges, user 65534, a read-only root with a size-limited tmpfs /tmp, the results
 * directory as the only mount, no network for jobs, and for services an internal bridge with
 * inter-container traffic off, no published ports and (by default) a host firewall.
 */
export function createDockerRuntime(parameters: CreateDockerRuntimeParameters): DockerRuntime {
  const docker = parameters.docker ?? new Docker()
  const dataDir = path.resolve(parameters.dataDir)
  const providerId = parameters.providerId
  const networkName = parameters.networkName ?? DEFAULT_SERVICE_NETWORK
  const hostFirewall = parameters.hostFirewall ?? 'iptables'
  const logFileMiB = parameters.logFileMiB ?? 10
  const namePrefix = `stoa-${providerId
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, '-')
    .slice(0, 48)}-`
  const deadlineTimers = new Map<string, NodeJS.Timeout>()
  let networkReady: Promise<void> | undefined
  let gpuSupport: Promise<string | null> | undefined

  const endpoint = (() => {
    const modem = docker.modem as { socketPath?: unknown; host?: unknown; port?: unknown }
    if (typeof modem.socketPath === 'string') return modem.socketPath
    return `${String(modem.host)}:${String(modem.port)}`
  })()

  const containerName = (id: string) => `${namePrefix}${id}`
  const markerDir = (id: string) => path.join(dataDir, 'docker', id)
  const timeoutMarker = (id: string) => path.join(markerDir(id), 'timed-out')
  const defaultResultsDir = (id: string) => path.join(dataDir, 'results', id)

  /** Turns connection failures into DockerUnavailableError; everything else passes through. */
  function engineError(error: unknown): unknown {
    const code = (error as NodeJS.ErrnoException | undefined)?.code
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' || code === 'ECONNRESET') {
      return new DockerUnavailableError({ cause: error, endpoint })
    }
    return error
  }
  const statusCode = (error: unknown) => (error as { statusCode?: number } | undefined)?.statusCode

  async function inspect(id: string): Promise<ContainerInfo | undefined> {
    try {
      const info = await docker.getContainer(containerName(id)).inspect()
      return info.Config.Labels?.[labels.provider] === providerId ? info : undefined
    } catch (error) {
      if (statusCode(error) === 404) return undefined
      throw engineError(error)
    }
  }

  async function removeContainer(id: string): Promise<void> {
    try {
      await docker.getContainer(containerName(id)).remove({ force: true, v: true })
    } catch (error) {
      if (statusCode(error) !== 404 && statusCode(error) !== 409) throw engineError(error)
    }
  }

  // ---- timeouts: a timer per running container, re-armed from the deadline label ----

  function armDeadline(id: string, deadline: number): void {
    if (deadline <= 0 || deadlineTimers.has(id)) return
    // setTimeout caps at 2^31-1 ms; a longer deadline re-arms when that fires.
    const delay = Math.min(Math.max(deadline - Date.now(), 0), 2 ** 31 - 1)
    const timer = setTimeout(() => {
      deadlineTimers.delete(id)
      if (Date.now() < deadline) return armDeadline(id, deadline)
      enforceDeadline(id).catch(() => {
        // The engine is unreachable right now; status() or list() enforce it later.
      })
    }, delay)
    timer.unref()
    deadlineTimers.set(id, timer)
  }

  function clearDeadline(id: string): void {
    const timer = deadlineTimers.get(id)
    if (timer) clearTimeout(timer)
    deadlineTimers.delete(id)
  }

  /** Kills a container past its deadline, leaving a marker so status() reports failed('timeout'). */
  async function enforceDeadline(id: string): Promise<void> {
    clearDeadline(id)
    const info = await inspect(id)
    if (!info?.State.Running) return
    const deadline = Number(info.Config.Labels?.[labels.deadline] ?? '0')
    await mkdir(markerDir(id), { recursive: true })
    await writeFile(timeoutMarker(id), String(Date.now()))
    try {
      await docker.getContainer(containerName(id)).kill({ signal: 'SIGKILL' })
    } catch (error) {
      if (statusCode(error) !== 409 && statusCode(error) !== 404) throw engineError(error)
      // Not running any more: killed by another runtime instance at the deadline (keep the
      // marker), or ended on its own before it (then it did not time out).
      const after = await inspect(id)
      if (after && Date.parse(after.State.FinishedAt) < deadline) await rm(timeoutMarker(id), { force: true })
    }
  }

  // ---- host capabilities ----

  function ensureNetwork(): Promise<void> {
    networkReady ??= setUpNetwork().catch((error) => {
      networkReady = undefined
      throw error
    })
    return networkReady
  }

  async function setUpNetwork(): Promise<void> {
    const find = async () =>
      (await docker.listNetworks({ filters: { name: [networkName] } })).find((n) => n.Name === networkName)
    let network = await find()
    if (!network) {
      try {
        await docker.createNetwork({
          Name: networkName,
          Driver: 'bridge',
          Internal: true,
          CheckDuplicate: true,
          Labels: { 'stoa.managed': 'true' },
          // Containers on the bridge must not reach each other: tenants share it.
          Options: { 'com.docker.network.bridge.enable_icc': 'false' },
        })
      } catch (error) {
        if (statusCode(error) !== 409) throw engineError(error)
      }
      network = await find()
    }
    if (!network) throw new Error(`the network ${networkName} could not be created`)
    const details = (await docker.getNetwork(network.Id).inspect()) as {
      Internal?: boolean
      Id: string
      Options?: Record<string, string>
    }
    if (!details.Internal) {
      throw new Error(
        `the network ${networkName} exists but is not internal; remove it or choose another name`,
      )
    }
    const bridge = details.Options?.['com.docker.network.bridge.name'] ?? `br-${details.Id.slice(0, 12)}`
    if (hostFirewall === 'iptables') await firewallBridge(bridge)
  }

  /**
   * An internal network has no route out, but the host answers on the bridge's gateway address
   * and on every other address it owns, so a service could reach the gateway, anvil, other
   * providers. Drop everything entering the host from the bridge except replies to connections
   * the host (the ingress) opened.
   */
  async function firewallBridge(bridge: string): Promise<void> {
    const accept = [
      'INPUT',
      '-i',
      bridge,
      '-m',
      'conntrack',
      '--ctstate',
      'ESTABLISHED,RELATED',
      '-j',
      'ACCEPT',
    ]
    const drop = ['INPUT', '-i', bridge, '-j', 'DROP']
    const has = async (rule: string[]) =>
      execFileAsync('iptables', ['-w', '-C', ...rule]).then(
        () => true,
        () => false,
      )
    try {
      if ((await has(accept)) && (await has(drop))) return
      // Re-create both so that ACCEPT sits above DROP.
      await execFileAsync('iptables', ['-w', '-D', ...accept]).catch(() => {})
      await execFileAsync('iptables', ['-w', '-D', ...drop]).catch(() => {})
      await execFileAsync('iptables', ['-w', '-I', drop[0] as string, '1', ...drop.slice(1)])
      await execFileAsync('iptables', ['-w', '-I', accept[0] as string, '1', ...accept.slice(1)])
    } catch (error) {
      throw new HostFirewallError(bridge, { cause: error })
    }
  }

  /** The reason GPUs cannot be attached, or null when they can. */
  function gpuProblem(): Promise<string | null> {
    gpuSupport ??= (async () => {
      if (parameters.gpu === false) return 'GPU support is turned off in the provider configuration'
      const present = await access('/dev/nvidiactl').then(
        () => true,
        () => false,
      )
      if (!present) return 'no NVIDIA driver on this host (/dev/nvidiactl is missing)'
      const pathDirs = (process.env.PATH ?? '').split(':').filter(Boolean)
      for (const dir of [...pathDirs, '/usr/bin', '/usr/local/bin']) {
        const ok = await access(path.join(dir, 'nvidia-container-runtime-hook'), constants.X_OK).then(
          () => true,
          () => false,
        )
        if (ok) return null
      }
      return 'the NVIDIA container toolkit (nvidia-container-runtime-hook) is not installed'
    })()
    return gpuSupport
  }

  // ---- the workload's files ----

  async function prepareResultsDir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o755 })
    const [uid, gid] = CONTAINER_USER.split(':').map(Number) as [number, number]
    try {
      await chown(dir, uid, gid)
    } catch (error) {
      // Not root: let the container's user write through the mode instead.
      if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error
      await chmod(dir, 0o777)
    }
  }

  function handleFrom(
    labelsOf: Record<string, string> | undefined,
    createdAt: number,
  ): WorkloadHandle | undefined {
    const id = labelsOf?.[labels.workload]
    const lease = labelsOf?.[labels.lease]
    const service = labelsOf?.[labels.service]
    const kind = labelsOf?.[labels.kind]
    if (!id || !lease || !/^\d+$/.test(lease) || !service || (kind !== 'job' && kind !== 'service'))
      return undefined
    return { id, runtime: 'docker', leaseId: BigInt(lease), service, kind: kind as WorkloadKind, createdAt }
  }

  async function statusOf(id: string, info: ContainerInfo): Promise<WorkloadStatus> {
    const state = info.State
    const startedAt = Date.parse(state.StartedAt) || Date.parse(info.Created)
    if (state.Running || state.Restarting || state.Paused || state.Status === 'created') {
      const deadline = Number(info.Config.Labels?.[labels.deadline] ?? '0')
      if (deadline > 0 && Date.now() >= deadline) {
        await enforceDeadline(id)
        const after = await inspect(id)
        if (!after) return { state: 'missing' }
        // The engine may report the kill a moment later; the next call sees it.
        if (after.State.Running) return { state: 'running', startedAt }
        return statusOf(id, after)
      }
      if (deadline > 0) armDeadline(id, deadline)
      return { state: 'running', startedAt }
    }
    const finishedAt = Date.parse(state.FinishedAt) || Date.now()
    const exitCode = state.ExitCode
    if (state.OOMKilled) {
      return {
        state: 'failed',
        reason: 'oom',
        message: `killed by the kernel: out of memory (limit ${info.HostConfig.Memory ?? 0} bytes)`,
        exitCode,
        startedAt,
        finishedAt,
      }
    }
    const timedOut = await stat(timeoutMarker(id)).then(
      () => true,
      () => false,
    )
    if (timedOut) {
      const deadline = Number(info.Config.Labels?.[labels.deadline] ?? '0')
      return {
        state: 'failed',
        reason: 'timeout',
        message: `killed at its wall-clock limit of ${Math.round((deadline - Date.parse(info.Created)) / 1000)} s`,
        exitCode,
        startedAt,
        finishedAt,
      }
    }
    if (state.Error || state.Dead) {
      return {
        state: 'failed',
        reason: 'error',
        message: state.Error || 'the container is dead',
        exitCode,
        startedAt,
        finishedAt,
      }
    }
    return { state: 'exited', exitCode, startedAt, finishedAt }
  }

  // ---- the Runtime ----

  async function start(spec: WorkloadSpec, options: { signal?: AbortSignal } = {}): Promise<WorkloadHandle> {
    validateWorkloadSpec(spec, 'docker')
    const { signal } = options
    signal?.throwIfAborted()
    const image = spec.image as string
    const limits = spec.limits
    try {
      let imageInfo: Docker.ImageInspectInfo
      try {
        imageInfo = await docker.getImage(image).inspect()
      } catch (error) {
        if (statusCode(error) === 404) throw new ImageNotFoundError(image)
        throw engineError(error)
      }
      const gpus = limits.gpus ?? 0
      if (gpus > 0) {
        const problem = await gpuProblem()
        if (problem) throw new GpuUnavailableError(gpus, problem)
      }
      if (spec.kind === 'service') await ensureNetwork()
      if (await inspect(spec.id)) throw new WorkloadExistsError(spec.id, 'docker')
      signal?.throwIfAborted()

      const resultsDir = spec.resultsDir ?? defaultResultsDir(spec.id)
      await prepareResultsDir(resultsDir)
      await rm(markerDir(spec.id), { recursive: true, force: true })

      const baseCommand = spec.command ?? imageInfo.Config.Cmd ?? []
      const command = [...baseCommand, ...(spec.args ?? [])]
      const expose = (spec.expose ?? []).map((entry) => entry.port)
      const deadline = limits.timeoutSec > 0 ? Date.now() + Math.round(limits.timeoutSec * 1000) : 0
      const mib = 1024 * 1024
      const createdAt = Date.now()
      const container = await docker
        .createContainer({
          name: containerName(spec.id),
          Image: image,
          ...(command.length > 0 ? { Cmd: command } : {}),
          Env: Object.entries(spec.env ?? {}).map(([name, value]) => `${name}=${value}`),
          User: CONTAINER_USER,
          Hostname: spec.service,
          Tty: false,
          OpenStdin: false,
          ExposedPorts: Object.fromEntries(expose.map((port) => [`${port}/tcp`, {}])),
          Labels: {
            [labels.provider]: providerId,
            [labels.lease]: spec.leaseId.toString(),
            [labels.service]: spec.service,
            [labels.workload]: spec.id,
            [labels.kind]: spec.kind,
            [labels.deadline]: String(deadline),
            [labels.expose]: expose.join(','),
            [labels.created]: String(createdAt),
          },
          StopTimeout: 5,
          HostConfig: {
            NanoCpus: Math.round(limits.cpuMillis * 1e6),
            Memory: limits.memoryMiB * mib,
            MemorySwap: limits.memoryMiB * mib,
            PidsLimit: limits.pids,
            Privileged: false,
            CapDrop: ['ALL'],
            SecurityOpt: ['no-new-privileges'],
            ReadonlyRootfs: true,
            Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${limits.storageMiB}m,mode=1777` },
            Mounts: [{ Type: 'bind', Source: resultsDir, Target: '/results', ReadOnly: false }],
            NetworkMode: spec.kind === 'service' ? networkName : 'none',
            PublishAllPorts: false,
            PortBindings: {},
            IpcMode: 'private',
            RestartPolicy: { Name: 'no' },
            LogConfig: { Type: 'json-file', Config: { 'max-size': `${logFileMiB}m`, 'max-file': '2' } },
            Ulimits: [{ Name: 'nofile', Soft: 4096, Hard: 4096 }],
            ...(gpus > 0
              ? {
                  DeviceRequests: [
                    { Driver: 'nvidia', Count: gpus, Capabilities: [['gpu']], DeviceIDs: [], Options: {} },
                  ],
                }
              : {}),
          },
        })
        .catch((error: unknown) => {
          if (statusCode(error) === 409) throw new WorkloadExistsError(spec.id, 'docker')
          throw engineError(error)
        })
      try {
        signal?.throwIfAborted()
        await container.start()
        signal?.throwIfAborted()
      } catch (error) {
        await removeContainer(spec.id)
        if (signal?.aborted) throw signal.reason
        throw new WorkloadStartError(spec.id, { cause: engineError(error) })
      }
      if (deadline > 0) armDeadline(spec.id, deadline)
      return {
        id: spec.id,
        runtime: 'docker',
        leaseId: spec.leaseId,
        service: spec.service,
        kind: spec.kind,
        createdAt,
      }
    } catch (error) {
      throw engineError(error)
    }
  }

  async function stop(id: string): Promise<void> {
    clearDeadline(id)
    await removeContainer(id)
    await rm(markerDir(id), { recursive: true, force: true })
  }

  async function status(id: string): Promise<WorkloadStatus> {
    const info = await inspect(id)
    return info ? statusOf(id, info) : { state: 'missing' }
  }

  async function* logs(id: string, options: LogsOptions = {}): AsyncGenerator<string> {
    const { follow = false, tail, signal } = options
    if (!(await inspect(id))) throw new WorkloadNotFoundError(id, 'docker')
    const container = docker.getContainer(containerName(id))
    const base = { stdout: true, stderr: true, timestamps: false, ...(tail !== undefined ? { tail } : {}) }
    const demuxer = new DockerLogDemuxer()
    if (!follow) {
      const buffer = await container.logs({ ...base, follow: false }).catch((error) => {
        throw engineError(error)
      })
      yield* demuxer.push(buffer)
      yield* demuxer.flush()
      return
    }
    const stream = (await container.logs({ ...base, follow: true }).catch((error) => {
      throw engineError(error)
    })) as NodeJS.ReadableStream & { destroy(): void }
    const onAbort = () => stream.destroy()
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      for await (const chunk of stream) {
        yield* demuxer.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
        if (signal?.aborted) return
      }
      yield* demuxer.flush()
    } catch (error) {
      if (signal?.aborted) return
      throw error
    } finally {
      signal?.removeEventListener('abort', onAbort)
      stream.destroy()
    }
  }

  async function results(id: string): Promise<ResultFile[]> {
    const info = await inspect(id)
    if (info) {
      const mount = info.Mounts.find((m) => m.Destination === '/results')
      return mount ? listResultFiles(mount.Source) : []
    }
    const fallback = defaultResultsDir(id)
    const exists = await stat(fallback).then(
      (s) => s.isDirectory(),
      () => false,
    )
    if (!exists) throw new WorkloadNotFoundError(id, 'docker')
    return listResultFiles(fallback)
  }

  async function list(): Promise<WorkloadHandle[]> {
    let containers: Docker.ContainerInfo[]
    try {
      containers = await docker.listContainers({
        all: true,
        filters: { label: [`${labels.provider}=${providerId}`] },
      })
    } catch (error) {
      throw engineError(error)
    }
    const handles: WorkloadHandle[] = []
    for (const container of containers) {
      const created = Number(container.Labels?.[labels.created]) || container.Created * 1000
      const handle = handleFrom(container.Labels, created)
      if (!handle) continue
      handles.push(handle)
      const deadline = Number(container.Labels?.[labels.deadline] ?? '0')
      if (container.State === 'running' && deadline > 0) armDeadline(handle.id, deadline)
    }
    // Markers of containers that are gone (removed while the daemon was down).
    const known = new Set(handles.map((h) => h.id))
    const markers = await readdir(path.join(dataDir, 'docker')).catch(() => [] as string[])
    for (const id of markers) {
      if (!known.has(id)) await rm(markerDir(id), { recursive: true, force: true })
    }
    return handles.sort((a, b) => a.createdAt - b.createdAt || compareCodeUnits(a.id, b.id))
  }

  async function serviceAddress(id: string, port: number): Promise<string> {
    const info = await inspect(id)
    if (!info) throw new WorkloadNotFoundError(id, 'docker')
    const exposed = (info.Config.Labels?.[labels.expose] ?? '').split(',').filter(Boolean).map(Number)
    if (!exposed.includes(port)) throw new PortNotExposedError(id, port, exposed)
    const address = info.NetworkSettings.Networks[networkName]?.IPAddress
    if (!info.State.Running || !address) {
      throw new ServiceNotRunningError(
        id,
        info.State.Running ? 'it has no address on the service network' : 'it is not running',
      )
    }
    return `${address}:${port}`
  }

  async function ping(): Promise<void> {
    try {
      await docker.ping()
    } catch (error) {
      const mapped = engineError(error)
      throw mapped instanceof DockerUnavailableError
        ? mapped
        : new DockerUnavailableError({ cause: error, endpoint })
    }
  }

  async function close(): Promise<void> {
    for (const id of [...deadlineTimers.keys()]) clearDeadline(id)
  }

  return { kind: 'docker', start, stop, status, logs, results, list, close, serviceAddress, ping }
}
