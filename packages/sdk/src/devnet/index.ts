export {
  DEVNET_MNEMONIC,
  type DevnetAccount,
  type DevnetAccountName,
  type DevnetRole,
  devnetAccount,
  devnetAccountSpecs,
  devnetAccounts,
  isDevnetAccountName,
} from './accounts.ts'
export {
  type AnvilInstance,
  DEVNET_CHAIN_ID,
  findFreePort,
  resolveAnvilBinary,
  type StartAnvilErrorType,
  type StartAnvilParameters,
  type StartAnvilReturnType,
  startAnvil,
} from './anvil.ts'
export {
  DEVNET_MAX_PRICE_AGE,
  DEVNET_ORACLE_MAX_STALENESS,
  DEVNET_ORACLE_PRICE,
  type DeployStoaErrorType,
  type DeployStoaParameters,
  type DeployStoaProgressEvent,
  type DeployStoaReturnType,
  deployStoa,
  type VerifyStoaDeploymentErrorType,
  verifyStoaDeployment,
} from './deploy.ts'
export {
  AnvilExitedError,
  AnvilNotFoundError,
  AnvilStartTimeoutError,
  DeploymentAddressMismatchError,
  DeploymentNotFoundError,
  DeploymentTransactionFailedError,
  DevnetError,
} from './errors.ts'
export {
  DEVNET_FUNDING,
  type DevnetAccountBalance,
  type DevnetFunding,
  type FundDevnetAccountsErrorType,
  type FundDevnetAccountsParameters,
  type FundDevnetAccountsProgressEvent,
  type FundDevnetAccountsReturnType,
  fundDevnetAccounts,
  readDevnetBalances,
} from './fund.ts'
