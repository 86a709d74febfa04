// The daemon

// Services (js-libp2p style: `service(init)(components)`)
export {
  type BidDecision,
  type BidEngine,
  type BidEngineComponents,
  type BidEngineInit,
  bidEngine,
  type SkipReason,
} from './bidding/engine.ts'
export {
  bidPrice,
  createPricer,
  linearPrice,
  linearPricer,
  type PriceRequest,
  type Pricer,
  priceRequestJson,
  scriptPricer,
} from './bidding/pricing.ts'
export {
  type Capacity,
  type CapacityOverrides,
  type DetectCapacityParameters,
  type DetectedCapacity,
  detectCapacity,
  detectNvidiaGpus,
  resolveCapacity,
} from './capacity.ts'
export {
  type CreateProviderChainParameters,
  createProviderChain,
  type ProviderChain,
} from './chain/client.ts'
export {
  type EnsureRegistrationParameters,
  type EnsureRegistrationReturnType,
  ensureRegistration,
} from './chain/registration.ts'
export {
  type ChainHead,
  type ChainListener,
  type ChainService,
  type ChainServiceComponents,
  type ChainServiceInit,
  chainService,
  chainTimeOf,
  type LeaseClosedEvent,
  type LeaseCreatedEvent,
  watchedMarketEvents,
} from './chain/sync.ts'
export { type NodeHttpTransportConfig, nodeHttpTransport } from './chain/transport.ts'
// Configuration and capacity
export {
  type LinearPricing,
  type LoadProviderConfigParameters,
  loadProviderConfig,
  mergeConfig,
  type ParseProviderConfigOptions,
  type ProviderConfig,
  type ProviderConfigInput,
  parseProviderConfig,
  providerConfigSchema,
  type ScriptPricing,
} from './config.ts'
export {
  createProviderDaemon,
  type ProviderComponents,
  type ProviderDaemon,
  type ProviderServices,
} from './daemon.ts'
// Errors
export {
  DaemonStateError,
  type DaemonStateErrorType,
  PricingScriptError,
  type PricingScriptErrorType,
  ProviderConfigError,
  type ProviderConfigErrorType,
  type ProviderConfigIssue,
  ProviderRequestError,
  type ProviderRequestErrorCode,
  type ProviderRequestErrorType,
} from './errors.ts'
export { type Gateway, type GatewayComponents, type GatewayInit, gateway } from './gateway/server.ts'
export { type Ingress, type IngressComponents, type IngressInit, ingress } from './ingress/server.ts'
export {
  fetchManifestDocument,
  ManifestFetchError,
  type ManifestFetchErrorType,
} from './leases/fetch-manifest.ts'
export { type LeaseFiles, leaseFiles } from './leases/files.ts'
export {
  type LeaseManager,
  type LeaseManagerComponents,
  type LeaseManagerInit,
  type LeaseView,
  leaseManager,
  type ResultView,
  type Runtimes,
  type ServiceView,
} from './leases/manager.ts'
export {
  type OrphanReport,
  type ReconcileReport,
  type Reconciler,
  type ReconcilerComponents,
  type ReconcilerInit,
  reconciler,
} from './leases/reconciler.ts'
export {
  type SettleReport,
  type Settler,
  type SettlerComponents,
  type SettlerInit,
  settler,
} from './leases/settler.ts'
export { loadDockerRuntime } from './load-docker.ts'
export {
  type CreateLoggerParameters,
  createLogger,
  type Logger,
  type LogLevel,
  silentLogger,
} from './logger.ts'
export {
  type CreateProviderMetricsParameters,
  createProviderMetrics,
  type ProviderMetrics,
} from './metrics.ts'
export { addResources, fits, noResources, type Resources, shortfall, subtractResources } from './resources.ts'
// Runtimes: the interface, the WASM runtime and the errors. The Docker runtime is loaded on demand
// (`loadDockerRuntime`), so a daemon without Docker does not carry the Docker client in memory.
export type { CreateDockerRuntimeParameters, DockerRuntime } from './runtime/docker.ts'
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
  WorkloadExistsError,
  type WorkloadExistsErrorType,
  WorkloadNotFoundError,
  type WorkloadNotFoundErrorType,
  WorkloadStartError,
  type WorkloadStartErrorType,
} from './runtime/errors.ts'
export { listResultFiles, openResultFile } from './runtime/results.ts'
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
} from './runtime/types.ts'
export { validateWorkloadSpec } from './runtime/validate.ts'
export { type CreateWasmRuntimeParameters, createWasmRuntime, type WasmRuntime } from './runtime/wasm.ts'
// State, metrics, logs
export {
  type BidRow,
  type BidStatus,
  type LeaseRow,
  type LeaseStatus,
  type LeaseWorkload,
  type OpenStateStoreParameters,
  type OrderRow,
  openStateStore,
  type ReservationRow,
  type StateStore,
} from './state/store.ts'
// Storage: the shard store, the gateway's storage routes, the StorageDeals sync and the prover
export {
  type ShardAcceptanceMessage,
  shardAcceptanceTypedData,
  shardAcceptanceTypes,
  signShardAcceptance,
  storageDealsDomain,
} from './storage/acceptance.ts'
export {
  type OnchainDeal,
  type OnchainShard,
  type ProofInput,
  type StorageDealsChain,
  type StorageDealsEvent,
  storageDealsChain,
} from './storage/chain.ts'
export {
  StorageRequestError,
  type StorageRequestErrorCode,
  type StorageRequestErrorType,
} from './storage/errors.ts'
export { buildShardProof, type ShardProof } from './storage/proof.ts'
export {
  type DueProof,
  duePeriod,
  type Prover,
  type ProverComponents,
  type ProverReport,
  prover,
} from './storage/prover.ts'
export {
  parseRange,
  type StorageRoutesComponents,
  type StorageRoutesInit,
  storageDealsAddress,
  storageRoutes,
} from './storage/routes.ts'
export {
  type StorageService,
  type StorageServiceComponents,
  type StorageServiceInit,
  storageService,
} from './storage/service.ts'
export {
  type DealShardRow,
  type DealShardState,
  KEPT_LEVEL,
  type ShardRow,
  type ShardState,
  type ShardStore,
  type ShardStoreComponents,
  type ShardStoreInit,
  type StorageUsage,
  shardStore,
  type UploadRow,
  type UploadState,
  type WriteUploadResult,
} from './storage/shard-store.ts'
export { providerVersion } from './version.ts'
export {
  type WatchedLease,
  type Watcher,
  type WatcherComponents,
  type WatcherInit,
  watcher,
} from './watcher/service.ts'
