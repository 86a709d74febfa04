export {
  ConsoleBuildError,
  type ConsoleBuildProgressEvent,
  consoleDistDir,
  consolePackageDir,
  type EnsureConsoleBuiltErrorType,
  type EnsureConsoleBuiltParameters,
  type EnsureConsoleBuiltReturnType,
  ensureConsoleBuilt,
} from './build.ts'
export {
  type ConsoleConfig,
  type ConsoleDevnetAccount,
  ConsoleNotBuiltError,
  ConsolePortInUseError,
  type ConsoleServer,
  type StartConsoleServerErrorType,
  type StartConsoleServerParameters,
  type StartConsoleServerReturnType,
  startConsoleServer,
} from './server.ts'
