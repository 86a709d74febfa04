export {
  type ChainOptions,
  type CommandContext,
  loadContext,
  resolveAccount,
  resolveAddress,
} from './context.ts'
export {
  DEFAULT_DEPLOYMENT_FILE,
  type DeploymentFile,
  type DeploymentFileAccount,
  deploymentFileOf,
  type LoadedDeployment,
  readDeploymentFile,
  TEST_KEYS_WARNING,
  writeDeploymentFile,
} from './deployment-file.ts'
export {
  type Devnet,
  type DevnetProgressEvent,
  type DevnetStep,
  type DevnetSummary,
  type RunDevnetOptions,
  runDevnet,
} from './devnet/run-devnet.ts'
export { CliError, formatError } from './errors.ts'
export { type CliIo, processIo } from './io.ts'
export { createProgram, main } from './program.ts'
