import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { devnetAccounts, findFreePort, readDevnetBalances } from '@stoa/sdk/devnet'
import { devnetAccountsWithProviders } from '../src/devnet/accounts.ts'
import { runDevnet } from '../src/devnet/run-devnet.ts'
import { type CliIo, deploymentFileOf, main, writeDeploymentFile } from '../src/index.ts'
import {
  castCall,
  type DevnetProcess,
  rpcAnswers,
  startDevnetProcess,
  stoa,
  stopDevnetProcess,
} from './helpers.ts'

const ALICE = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const BOB = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'

let scratch: string
const started: DevnetProcess[] = []

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'stoa-cli-devnet-'))
})

after(async () => {
  // Whatever a failed test left running: the CLI and its anvil share a process group.
  for (const devnet of started) devnet.kill()
  await rm(scratch, { recursive: true, force: true })
})

describe('stoa devnet --json', () => {
  let devnet: DevnetProcess
  let deploymentFile: string
  let port: number

  before(async () => {
    port = await findFreePort()
    deploymentFile = join(scratch, 'fresh', 'deployment.json')
    devnet = await startDevnetProcess([
      '--port',
      String(port),
      '--deployment',
      deploymentFile,
      '--providers',
      '0',
      '--no-demo',
    ])
    started.push(devnet)
  })

  test('prints one JSON summary with the RPC URL, contracts, oracle price and funded accounts', async () => {
    const { summary } = devnet
    assert.equal(summary.rpcUrl, `http://127.0.0.1:${port}`)
    assert.equal(summary.chainId, 31337)
    assert.equal(summary.reused, false)
    assert.equal(summary.oracle.answer, '50000000')
    assert.equal(summary.oracle.usdPerStoa, '0.5')
    assert.deepEqual(
      summary.accounts.map((account) => account.name),
      ['deployer', 'alice', 'bob', 'provider1', 'provider2', 'provider3', 'watcher'],
    )
    for (const account of summary.accounts) {
      assert.ok(BigInt(account.stoaUnits) > 0n, `${account.name} has STOA`)
      assert.ok(BigInt(account.creditUnits) > 0n, `${account.name} has credits`)
    }
    assert.ok(summary.timings.totalMs !== undefined && summary.timings.totalMs > 0)
    assert.ok(summary.timings.processMs !== undefined && summary.timings.processMs >= summary.timings.totalMs)
  })

  test('writes the deployment file with addresses and only marked test keys', async () => {
    const file = JSON.parse(await readFile(deploymentFile, 'utf8'))
    assert.equal(file.chainId, 31337)
    assert.equal(file.rpcUrl, devnet.summary.rpcUrl)
    assert.deepEqual(file.contracts, devnet.summary.contracts)
    assert.equal(file.accounts.alice.address, ALICE)
    assert.match(file.testKeys.warning, /never on a real chain/)
    assert.equal(file.testKeys.mnemonic, 'test test test test test test test test test test test junk')
    for (const account of Object.values(file.accounts) as { testPrivateKey: string }[]) {
      assert.match(account.testPrivateKey, /^0x[0-9a-f]{64}$/)
    }
  })

  test('cast reads the oracle price and a funded balance from the running chain', async () => {
    const { contracts, rpcUrl } = devnet.summary
    const round = await castCall([
      'call',
      contracts.priceOracle,
      'latestRoundData()(uint80,int256,uint256,uint256,uint80)',
      '--rpc-url',
      rpcUrl,
    ])
    assert.equal(round.split('\n')[1]?.split(' ')[0], '50000000')
    const balance = await castCall([
      'call',
      contracts.credits,
      'balanceOf(address)(uint256)',
      ALICE,
      '--rpc-url',
      rpcUrl,
    ])
    const alice = devnet.summary.accounts.find((account) => account.name === 'alice')
    assert.equal(balance.split(' ')[0], alice?.creditUnits)
  })

  test('stoa credits balance --json reads what cast reads', async () => {
    const result = await stoa(['credits', 'balance', ALICE, '--json', '--deployment', deploymentFile])
    assert.equal(result.code, 0, result.stderr)
    const json = JSON.parse(result.stdout)
    const onChain = await castCall([
      'call',
      devnet.summary.contracts.credits,
      'balanceOf(address)(uint256)',
      ALICE,
      '--rpc-url',
      devnet.summary.rpcUrl,
    ])
    assert.equal(json.balance, onChain.split(' ')[0])
    assert.equal(json.name, 'alice')
    assert.equal(json.usd, '1000')
  })

  test('stoa credits buy burns STOA and adds credits (checked with cast)', async () => {
    const result = await stoa([
      'credits',
      'buy',
      '2.5',
      '--key',
      'bob',
      '--json',
      '--deployment',
      deploymentFile,
    ])
    assert.equal(result.code, 0, result.stderr)
    const json = JSON.parse(result.stdout)
    assert.equal(json.credits, '2500000')
    assert.equal(json.stoaAmount, '5000000000000000000') // 2.5 USD at 0.5 USD/STOA
    const onChain = await castCall([
      'call',
      devnet.summary.contracts.credits,
      'balanceOf(address)(uint256)',
      BOB,
      '--rpc-url',
      devnet.summary.rpcUrl,
    ])
    assert.equal(onChain.split(' ')[0], '1002500000')
    assert.equal(json.balance, '1002500000')
  })

  test('stoa chain info --json reports the price, supplies and addresses', async () => {
    const result = await stoa(['chain', 'info', '--json', '--deployment', deploymentFile])
    assert.equal(result.code, 0, result.stderr)
    const json = JSON.parse(result.stdout)
    assert.equal(json.chainId, 31337)
    assert.equal(json.oracle.answer, '50000000')
    assert.equal(json.oracle.usable, true)
    assert.deepEqual(json.contracts, devnet.summary.contracts)
    const creditSupply = await castCall([
      'call',
      devnet.summary.contracts.credits,
      'totalSupply()(uint256)',
      '--rpc-url',
      devnet.summary.rpcUrl,
    ])
    assert.equal(json.creditSupply, creditSupply.split(' ')[0])
  })

  test('a second devnet on the same port fails with a message and a hint, exit code 1', async () => {
    const result = await stoa(['devnet', '--port', String(port), '--deployment', join(scratch, 'clash.json')])
    assert.equal(result.code, 1)
    assert.match(result.stderr, /^Error: anvil exited before its RPC answered/m)
    assert.match(result.stderr, /Address already in use|address already in use/i)
    assert.match(result.stderr, /^Hint: /m)
    assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace')
  })

  test('SIGINT stops the devnet and its anvil with exit code 0 within seconds', async () => {
    const exit = await stopDevnetProcess(devnet, 'SIGINT', 10_000)
    assert.equal(exit.code, 0, devnet.stderr())
    assert.ok(exit.ms < 5_000, `stopped in ${Math.round(exit.ms)} ms`)
    assert.equal(await rpcAnswers(devnet.summary.rpcUrl), false, 'anvil is gone')
  })
})

describe('stoa devnet --state DIR', () => {
  test('a restart keeps the chain: same addresses, no redeploy, changes survive', async () => {
    const stateDir = join(scratch, 'state')
    const deploymentFile = join(scratch, 'state-cli', 'deployment.json')
    const first = await startDevnetProcess([
      '--state',
      stateDir,
      '--deployment',
      deploymentFile,
      '--providers',
      '0',
      '--no-demo',
    ])
    started.push(first)
    assert.equal(first.summary.reused, false)

    // Change a balance, then stop (SIGTERM this time): anvil saves the chain on the way out.
    const bought = await stoa(['credits', 'buy', '7', '--key', 'alice', '--deployment', deploymentFile])
    assert.equal(bought.code, 0, bought.stderr)
    const before = await castCall([
      'call',
      first.summary.contracts.credits,
      'balanceOf(address)(uint256)',
      ALICE,
      '--rpc-url',
      first.summary.rpcUrl,
    ])
    assert.equal(before.split(' ')[0], '1007000000')
    // Two days pass on the chain: the oracle price is now older than Credits accepts (1 day).
    await castCall(['rpc', 'evm_increaseTime', '172800', '--rpc-url', first.summary.rpcUrl])
    await castCall(['rpc', 'evm_mine', '--rpc-url', first.summary.rpcUrl])
    const stale = await stoa(['chain', 'info', '--json', '--deployment', deploymentFile])
    assert.equal(JSON.parse(stale.stdout).oracle.usable, false)
    const firstExit = await stopDevnetProcess(first, 'SIGTERM')
    assert.equal(firstExit.code, 0, first.stderr())
    assert.ok(existsSync(join(stateDir, 'chain.json')), 'anvil dumped the chain')
    assert.ok(existsSync(join(stateDir, 'deployment.json')), 'the deployment is kept with the chain')

    const second = await startDevnetProcess([
      '--state',
      stateDir,
      '--deployment',
      deploymentFile,
      '--providers',
      '0',
      '--no-demo',
    ])
    started.push(second)
    try {
      assert.equal(second.summary.reused, true)
      assert.deepEqual(second.summary.contracts, first.summary.contracts)
      assert.equal(second.summary.timings.deployMs, undefined, 'nothing was deployed')
      const after = await castCall([
        'call',
        second.summary.contracts.credits,
        'balanceOf(address)(uint256)',
        ALICE,
        '--rpc-url',
        second.summary.rpcUrl,
      ])
      assert.equal(after.split(' ')[0], '1007000000')
      const balance = await stoa(['credits', 'balance', 'alice', '--json', '--deployment', deploymentFile])
      assert.equal(JSON.parse(balance.stdout).balance, '1007000000')
      // The devnet is its own price feed: it posted the price again on restart.
      const info = JSON.parse(
        (await stoa(['chain', 'info', '--json', '--deployment', deploymentFile])).stdout,
      )
      assert.equal(info.oracle.usable, true)
      assert.equal(info.oracle.roundId, '3')
    } finally {
      const secondExit = await stopDevnetProcess(second, 'SIGINT')
      assert.equal(secondExit.code, 0, second.stderr())
    }
  })
})

describe('runDevnet with a saved chain and more providers than before', () => {
  test('funds the provider accounts the saved chain never funded, and only those', async () => {
    const stateDir = join(scratch, 'state-more')
    const deploymentFile = join(stateDir, 'cli-deployment.json')
    const first = await runDevnet({ stateDir, deploymentFile, providerAccounts: 3, mineIntervalMs: 0 })
    const balancesOf = async (devnet: typeof first) =>
      new Map<string, { stoa: bigint; credits: bigint }>(
        (
          await readDevnetBalances({
            rpcUrl: devnet.anvil.rpcUrl,
            deployment: devnet.deployment,
            accounts: devnetAccountsWithProviders(5),
          })
        ).map((balance) => [balance.name as string, balance]),
      )
    const before = await balancesOf(first)
    assert.equal(before.get('provider4')?.stoa, 0n)
    await first.stop()

    const second = await runDevnet({ stateDir, deploymentFile, providerAccounts: 5, mineIntervalMs: 0 })
    try {
      assert.equal(second.summary.reused, true)
      const after = await balancesOf(second)
      for (const name of ['provider4', 'provider5']) {
        assert.ok((after.get(name)?.stoa ?? 0n) > 0n, `${name} holds STOA`)
        assert.ok((after.get(name)?.credits ?? 0n) > 0n, `${name} holds credits`)
      }
      for (const name of ['alice', 'provider1']) {
        assert.equal(after.get(name)?.stoa, before.get(name)?.stoa, `${name} was not funded twice`)
        assert.equal(after.get(name)?.credits, before.get(name)?.credits)
      }
    } finally {
      await second.stop()
    }
  })
})

describe('stoa errors and help', () => {
  let deploymentFile: string
  before(async () => {
    // A deployment file whose chain is not running (nothing listens on the port).
    const port = await findFreePort()
    deploymentFile = join(scratch, 'offline', 'deployment.json')
    await writeDeploymentFile(
      deploymentFile,
      deploymentFileOf(
        {
          chainId: 31337,
          rpcUrl: `http://127.0.0.1:${port}`,
          contracts: {
            stoaToken: ALICE,
            priceOracle: ALICE,
            credits: ALICE,
            providerRegistry: ALICE,
            market: ALICE,
            storageDeals: ALICE,
          },
          deployedAt: new Date().toISOString(),
          deployer: ALICE,
          blockNumber: 0n,
        },
        devnetAccounts(),
      ),
    )
  })

  test('a missing deployment file prints the message and a hint, no stack trace, exit code 1', async () => {
    const result = await stoa([
      'credits',
      'balance',
      ALICE,
      '--deployment',
      join(scratch, 'nothing-here.json'),
    ])
    assert.equal(result.code, 1)
    assert.match(result.stderr, /^Error: No deployment file at .*nothing-here\.json\./m)
    assert.match(result.stderr, /^Hint: Start a devnet first/m)
    assert.doesNotMatch(result.stderr, /^\s+at /m)
  })

  test('an unreachable RPC says so with a hint; --verbose adds the cause chain', async () => {
    const port = await findFreePort()
    const args = [
      'credits',
      'balance',
      'alice',
      '--deployment',
      deploymentFile,
      '--rpc',
      `http://127.0.0.1:${port}`,
    ]
    const plain = await stoa(args)
    assert.equal(plain.code, 1)
    assert.match(plain.stderr, /^Error: HTTP request failed\./m)
    assert.match(
      plain.stderr,
      new RegExp(`^Hint: Is the chain at http://127.0.0.1:${port}/? running\\?`, 'm'),
    )
    assert.doesNotMatch(plain.stderr, /^\s+at /m)
    const verbose = await stoa([...args, '--verbose'])
    assert.equal(verbose.code, 1)
    assert.match(verbose.stderr, /^Caused by: /m)
  })

  test('signing commands without a key, and bad amounts, fail with exit code 1', async () => {
    const noKey = await stoaInProcess(['credits', 'buy', '5', '--deployment', deploymentFile])
    assert.equal(noKey.code, 1)
    assert.match(noKey.stderr, /needs a private key/)
    assert.match(noKey.stderr, /STOA_PRIVATE_KEY/)
    const badKey = await stoaInProcess([
      'credits',
      'buy',
      '5',
      '--key',
      '0xdeadbeef',
      '--deployment',
      deploymentFile,
    ])
    assert.equal(badKey.code, 1)
    assert.match(badKey.stderr, /--key \(or STOA_PRIVATE_KEY\) must be a private key/)
    assert.doesNotMatch(badKey.stderr, /0xdeadbeef/, 'a key is never echoed')
    const both = await stoaInProcess([
      'credits',
      'buy',
      '5',
      '--stoa',
      '3',
      '--key',
      'alice',
      '--deployment',
      deploymentFile,
    ])
    assert.equal(both.code, 1)
    assert.match(both.stderr, /either USD .* or --stoa/)
    const tooPrecise = await stoaInProcess([
      'credits',
      'buy',
      '1.0000001',
      '--key',
      'alice',
      '--deployment',
      deploymentFile,
    ])
    assert.equal(tooPrecise.code, 1)
    assert.match(tooPrecise.stderr, /at most 6 digits/)
    const unknownName = await stoaInProcess(['credits', 'balance', 'carol', '--deployment', deploymentFile])
    assert.equal(unknownName.code, 1)
    assert.match(unknownName.stderr, /ADDRESS must be .* devnet account name \(deployer, alice/)
    const badPort = await stoaInProcess(['devnet', '--port', '99999'])
    assert.equal(badPort.code, 1)
    assert.match(badPort.stderr, /expected a port number/)
    const unknownOption = await stoaInProcess(['credits', 'balance', '--bogus'])
    assert.equal(unknownOption.code, 1)
    assert.match(unknownOption.stderr, /unknown option '--bogus'/)
    for (const result of [noKey, badKey, both, tooPrecise, unknownName, badPort, unknownOption]) {
      assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace')
    }
  })

  test('every command has --help', async () => {
    const commands = [
      [],
      ['devnet'],
      ['credits'],
      ['credits', 'balance'],
      ['credits', 'buy'],
      ['chain'],
      ['chain', 'info'],
    ]
    for (const command of commands) {
      const result = await stoaInProcess([...command, '--help'])
      assert.equal(result.code, 0, `${command.join(' ')} --help: ${result.stderr}`)
      assert.match(
        result.stdout,
        new RegExp(`^Usage: stoa${command.map((word) => ` ${word}`).join('')} `, 'm'),
      )
    }
  })
})

/** Runs `main` in this process with captured output (for checks that need no chain). */
async function stoaInProcess(
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    stdout: (text) => {
      stdout += text
    },
    stderr: (text) => {
      stderr += text
    },
    env: {},
  }
  const code = await main(['node', 'stoa', ...args], io)
  return { code, stdout, stderr }
}
