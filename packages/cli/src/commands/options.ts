import type { Command } from 'commander'
import { DEFAULT_DEPLOYMENT_FILE } from '../deployment-file.ts'

/** `--deployment FILE` and `--rpc URL`, shared by every command that talks to the chain. */
export function addChainOptions(command: Command): Command {
  return command
    .option('--deployment <file>', 'deployment file written by `stoa devnet`', DEFAULT_DEPLOYMENT_FILE)
    .option('--rpc <url>', "JSON-RPC URL (default: the deployment file's)")
}

/** `--key` for commands that sign. */
export function addKeyOption(command: Command): Command {
  return command.option(
    '--key <key>',
    'private key (0x…) or devnet account name (alice, bob, provider1…); default: $STOA_PRIVATE_KEY',
  )
}
