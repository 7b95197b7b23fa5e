import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const SCRIPT = fileURLToPath(new URL('../../../docker/netns-testnet.sh', import.meta.url))

function canMakeNamespaces(): string | false {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces'
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' })
    return false
  } catch {
    return 'needs iproute2 with network namespace support'
  }
}

describe('a testnet of hosts in network namespaces (docker/netns-testnet.sh)', () => {
  const skip = canMakeNamespaces()

  it(
    'fills every peer table across hosts with their own IPs and answers status between hosts',
    { skip },
    async () => {
      const { stdout, stderr } = await promisify(execFile)('bash', [SCRIPT, '3'], {
        timeout: 120_000,
        env: { ...process.env, NETNS_PREFIX: `pmt${process.pid % 10000}` }
      })
      assert.equal(stdout.match(/^== host /gm)?.length, 3)
      for (const ip of ['10.77.0.10', '10.77.0.11', '10.77.0.12'])
        assert.ok(stdout.includes(`/ip4/${ip}/tcp/4001/p2p/`))
      assert.match(stdout, /prover\s+proofmesh-prover .*\(rescue-sponge\)/)
      assert.match(stdout, /peers\s+\d+ connected, 2 advertising/)
      const root = /data in (\S+)/.exec(stderr)?.[1]
      assert.ok(root, 'the script names its data folder')
      const running = execFileSync('ps', ['-eww', '-o', 'args'], { encoding: 'utf8' })
      assert.ok(!running.includes(root), 'no daemon of the testnet outlives it')
      const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      assert.ok(!left.includes(`pmt${process.pid % 10000}-`), 'the namespaces are removed afterwards')
    }
  )
})
