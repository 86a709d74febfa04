import { BaseError } from '@stoa/protocol'

export type WorkloadNotFoundErrorType = WorkloadNotFoundError & { name: 'WorkloadNotFoundError' }

/** No workload with this id exists in the runtime (never started, or stopped). */
export class WorkloadNotFoundError extends BaseError {
  workloadId: string
  constructor(workloadId: string, runtime: string) {
    super(`Workload "${workloadId}" is not known to the ${runtime} runtime.`, {
      name: 'WorkloadNotFoundError',
      metaMessages: ['It was never started here, or it has been stopped.'],
    })
    this.workloadId = workloadId
  }
}

export type WorkloadExistsErrorType = WorkloadExistsError & { name: 'WorkloadExistsError' }

/** `start` was called with the id of a workload that still exists (running or finished). */
export class WorkloadExistsError extends BaseError {
  workloadId: string
  constructor(workloadId: string, runtime: string) {
    super(`Workload "${workloadId}" already exists in the ${runtime} runtime.`, {
      name: 'WorkloadExistsError',
      metaMessages: ['Stop it first, or start the new one under another id.'],
    })
    this.workloadId = workloadId
  }
}

export type WorkloadStartErrorType = WorkloadStartError & { name: 'WorkloadStartError' }

/** The engine refused to start the workload (bad command, missing executable...). Nothing is left behind. */
export class WorkloadStartError extends BaseError {
  workloadId: string
  constructor(workloadId: string, options: { cause: unknown }) {
    super(`Workload "${workloadId}" could not be started.`, {
      name: 'WorkloadStartError',
      cause: options.cause,
    })
    this.workloadId = workloadId
  }
}

export type DockerUnavailableErrorType = DockerUnavailableError & { name: 'DockerUnavailableError' }

/** The Docker Engine API did not answer. */
export class DockerUnavailableError extends BaseError {
  constructor(options: { cause: unknown; endpoint: string }) {
    super(`The Docker engine at ${options.endpoint} is not reachable.`, {
      name: 'DockerUnavailableError',
      cause: options.cause,
      metaMessages: [
        'Start it (`dockerd &` as root, or `systemctl start docker`) and check that this user may use the socket.',
      ],
    })
  }
}

export type ImageNotFoundErrorType = ImageNotFoundError & { name: 'ImageNotFoundError' }

/** The image is not present in the local engine; the runtime never pulls. */
export class ImageNotFoundError extends BaseError {
  image: string
  constructor(image: string) {
    super(`The image "${image}" is not present on this provider.`, {
      name: 'ImageNotFoundError',
      metaMessages: [
        'Images are not pulled: build or load them on the provider first.',
        'For stoa/busybox:1 run workloads/busybox/build-image.sh.',
      ],
    })
    this.image = image
  }
}

export type GpuUnavailableErrorType = GpuUnavailableError & { name: 'GpuUnavailableError' }

/** A workload asked for GPUs and this host cannot give them to containers. */
export class GpuUnavailableError extends BaseError {
  constructor(requested: number, reason: string) {
    super(`The workload asks for ${requested} GPU(s), but this provider cannot attach GPUs: ${reason}.`, {
      name: 'GpuUnavailableError',
      metaMessages: [
        'GPUs need an NVIDIA driver (/dev/nvidiactl) and the NVIDIA container toolkit (nvidia-container-runtime-hook on the PATH of dockerd).',
      ],
    })
  }
}

export type HostFirewallErrorType = HostFirewallError & { name: 'HostFirewallError' }

/** The rules that keep service containers away from the host's own ports could not be installed. */
export class HostFirewallError extends BaseError {
  constructor(bridge: string, options: { cause: unknown }) {
    super(`Could not firewall the service bridge "${bridge}" from the host.`, {
      name: 'HostFirewallError',
      cause: options.cause,
      metaMessages: [
        'Services would reach every port the host listens on. The rules need iptables and root.',
        "Run the daemon as root, or pass hostFirewall: 'none' after adding equivalent rules yourself:",
        `  iptables -I INPUT -i ${bridge} -j DROP; iptables -I INPUT -i ${bridge} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`,
      ],
    })
  }
}

export type InvalidWasmModuleErrorType = InvalidWasmModuleError & { name: 'InvalidWasmModuleError' }

/** The module cannot run here: not valid WebAssembly, not a WASI command, or over its memory cap. */
export class InvalidWasmModuleError extends BaseError {
  constructor(reason: string, options: { cause?: unknown } = {}) {
    super(`The WebAssembly module cannot run: ${reason}.`, {
      name: 'InvalidWasmModuleError',
      cause: options.cause,
    })
  }
}

export type PortNotExposedErrorType = PortNotExposedError & { name: 'PortNotExposedError' }

/** The ingress asked for a port the service does not expose (or for a job, which exposes none). */
export class PortNotExposedError extends BaseError {
  constructor(workloadId: string, port: number, exposed: number[]) {
    super(`Workload "${workloadId}" does not expose port ${port}.`, {
      name: 'PortNotExposedError',
      metaMessages: [exposed.length > 0 ? `It exposes: ${exposed.join(', ')}.` : 'It exposes no port.'],
    })
  }
}

export type ServiceNotRunningErrorType = ServiceNotRunningError & { name: 'ServiceNotRunningError' }

/** The ingress asked for the address of a service that exists but cannot be reached now. */
export class ServiceNotRunningError extends BaseError {
  constructor(workloadId: string, reason: string) {
    super(`Service "${workloadId}" cannot be reached: ${reason}.`, { name: 'ServiceNotRunningError' })
  }
}
