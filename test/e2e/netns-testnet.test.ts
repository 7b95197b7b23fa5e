import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

// through the CLI, which runs docker/netns-testnet.sh
const CLI = fileURLToPath(new URL('../../node/cli.js', import.meta.url))

function canMakeNamespaces(): string | false {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces'
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' })
    return false
  } catch {
    return 'needs iproute2 with network namespace support'
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

describe('a testnet of hosts in network namespaces (proofmesh testnet --netns)', () => {
  const skip = canMakeNamespaces()

  it(
    'fills every peer table across hosts, proves a job over all of them, survives a host cut off mid-job, and leaves nothing behind',
    { skip },
    async (t) => {
      const prefix = `pmt${process.pid % 10000}`
      const cut = `${prefix}-2`
      // 1 MiB inputs keep both jobs short on 2 cores; on timeout execFile sends SIGTERM, which tears down too
      const { stdout, stderr } = await promisify(execFile)(
        process.execPath,
        [CLI, 'testnet', '--netns', '--nodes', '3', '--cut-link', '2', '--size', String(1024 * 1024)],
        { timeout: 170_000, env: { ...process.env, NETNS_PREFIX: prefix }, maxBuffer: 16 * 1024 * 1024 }
      ).catch((err: Error & { stdout?: string; stderr?: string }) => {
        throw new Error(`${err.message}\n--- stdout\n${err.stdout ?? ''}\n--- stderr\n${err.stderr ?? ''}`)
      })

      // the peer tables and a status asked across hosts
      assert.equal(stdout.match(/^== host /gm)?.length, 3)
      for (const ip of ['10.77.0.10', '10.77.0.11', '10.77.0.12'])
        assert.ok(stdout.includes(`/ip4/${ip}/tcp/4001/p2p/`))
      assert.match(stdout, /prover\s+proofmesh-prover .*\(rescue-sponge\)/)
      assert.match(stdout, /peers\s+\d+ connected, 2 advertising/)

      // job 1: proved across the three hosts, its proof checked against its input by `proofmesh verify`
      const first = /^verified: ([0-9a-f]{64}) \(job (\S+), (\d+) segments on (\d+) hosts/m.exec(stdout)
      assert.ok(first, `a verified proof of job 1:\n${stdout}`)
      assert.equal(first[4], '3', 'job 1 spread over every host')
      const toFirst = /^first verified proof (\d+\.\d) s after start$/m.exec(stdout)
      assert.ok(toFirst, 'the time to the first verified proof is printed')

      // job 2: the host's link down longer than jobs.peer_timeout while proving, its segments moved, proof verified
      const down = new RegExp(
        `^link of ${escape(cut)} down for (\\d+\\.\\d) s from the start of proving \\(it held segments ([\\d,]+)\\)`,
        'm'
      ).exec(stdout)
      assert.ok(down, `the link of ${cut} was cut while it held segments:\n${stdout}`)
      assert.ok(Number(down[1]) > 3, 'down longer than jobs.peer_timeout (3 s)')
      const second = /^verified after cut: ([0-9a-f]{64}) \(job (\S+), (\d+) segments on (\d+) hosts/m.exec(
        stdout
      )
      assert.ok(second, `a verified proof of job 2:\n${stdout}`)
      assert.notEqual(second[2], first[2])
      assert.notEqual(second[1], first[1], 'another input, another digest')
      const held = down[2]!.split(',').length
      const moved = new RegExp(
        `^job 2 took (\\d+\\.\\d) s with the cut vs (\\d+\\.\\d) s for job 1; (\\d+) of (\\d+) segments of ${escape(cut)} moved elsewhere, 0 proved by it$`,
        'm'
      ).exec(stdout)
      assert.ok(moved, `the cut host's segments were proved elsewhere:\n${stdout}`)
      assert.equal(Number(moved[3]), held)
      assert.equal(Number(moved[4]), held)
      const back = new RegExp(
        `^host ${escape(cut)} back in every peer table (\\d+\\.\\d) s after its link came up$`,
        'm'
      ).exec(stdout)
      assert.ok(back, 'the host rejoined every peer table once its link was up')
      t.diagnostic(
        `first verified proof ${toFirst[1]} s after start; job 1 ${moved[2]} s; job 2 ${moved[1]} s with ${cut} cut for ${down[1]} s (${held} segments moved); rejoined ${back[1]} s after`
      )

      // nothing left behind: no daemon, no namespace, no data folder
      assert.match(stderr, /torn down: 3 daemons stopped, 4 namespaces removed/)
      const root = /data in (\S+)/.exec(stderr)?.[1]
      assert.ok(root, 'the script names its data folder')
      assert.ok(!existsSync(root), 'the data folder is removed')
      const running = execFileSync('ps', ['-eww', '-o', 'args'], { encoding: 'utf8' })
      assert.ok(!running.includes(root), 'no daemon or CLI of the testnet outlives it')
      const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      assert.ok(!left.includes(`${prefix}-`), 'the namespaces are removed afterwards')
    }
  )
})
