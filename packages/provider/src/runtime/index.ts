export {
  CONTAINER_USER,
  type CreateDockerRuntimeParameters,
  createDockerRuntime,
  DEFAULT_SERVICE_NETWORK,
  type DockerRuntime,
  labels as dockerLabels,
} from './docker.ts'
export {
  DockerUnavailableError,
  type DockerUnavailableErrorType,
  GpuUnavailableError,
  type GpuUnavailableErrorType,
  HostFirewallError,
  type HostFirewallErrorType,
  ImageNotFoundError,
  type ImageNotFoundErrorType,
  InvalidWasmModuleError,
  type InvalidWasmModuleErrorType,
  PortNotExposedError,
  type PortNotExposedErrorType,
  ServiceNotRunningError,
  type ServiceNotRunningErrorType,
  WorkloadExistsError,
  type WorkloadExistsErrorType,
  WorkloadNotFoundError,
  type WorkloadNotFoundErrorType,
  WorkloadStartError,
  type WorkloadStartErrorType,
} from './errors.ts'
export { listResultFiles, openResultFile } from './results.ts'
export type {
  ExposedPort,
  LogsOptions,
  ResultFile,
  Runtime,
  RuntimeKind,
  WorkloadFailureReason,
  WorkloadHandle,
  WorkloadKind,
  WorkloadLimits,
  WorkloadSpec,
  WorkloadStatus,
} from './types.ts'
export { validateWorkloadSpec } from './validate.ts'
export { type CreateWasmRuntimeParameters, createWasmRuntime, type WasmRuntime } from './wasm.ts'
export { type PreparedModule, prepareWasmModule, WASM_PAGE_BYTES } from './wasm-module.ts'
