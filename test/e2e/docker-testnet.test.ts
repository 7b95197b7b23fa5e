import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const SCRIPT = fileURLToPath(new URL('../../../docker/docker-testnet.sh', import.meta.url))
/** The script's own exit code for "this machine cannot run Docker" */
const CANNOT = 77
/** Installing Docker and making the base image on a bare machine takes ~3 min; the run itself ~1 min */
const TIMEOUT_MS = 570_000

interface Result {
  containers: number
  stopped: string
  stoppedIn: string
  movedSegments: number[]
  upToVerifiedMs: number
  user: number
  verified: boolean
  job: { id: string; state: string; peers: number; segments: number; inputSize: number; digest: string }
}

interface Outcome {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs the script, its progress passed on to stderr as it comes; SIGTERM (its trap tears down) at the timeout */
async function runScript(): Promise<Outcome> {
  const child = spawn('bash', [SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
    process.stderr.write(chunk)
  })
  const timer = setTimeout(() => child.kill('SIGTERM'), TIMEOUT_MS)
  try {
    return await new Promise((resolve, reject) => {
      child.once('error', reject)
      child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
    })
  } finally {
    clearTimeout(timer)
  }
}

describe('the compose testnet in Docker (docker/docker-testnet.sh)', () => {
  it(
    'proves a job across 4 containers, one of them stopped mid-job, verifies the proof, tears everything down',
    { timeout: TIMEOUT_MS + 30_000 },
    async (t) => {
      if (process.getuid?.() !== 0) {
        t.skip('no Docker engine can start here: installing and starting one needs root')
        return
      }
      const run = await runScript()
      if (run.code === CANNOT) {
        const reason = /cannot: (.*)$/m.exec(run.stderr.trimEnd().split('\n').at(-1) ?? '')?.[1]
        t.skip(`Docker cannot run here: ${reason ?? 'see the log above'}`)
        return
      }
      assert.equal(run.code, 0, `docker-testnet.sh failed (${run.code ?? run.signal}); its log is above`)
      const line = run.stdout.split('\n').find((text) => text.startsWith('RESULT '))
      assert.ok(line !== undefined, 'the script printed its RESULT line')
      const result = JSON.parse(line.slice('RESULT '.length)) as Result
      assert.equal(result.containers, 4)
      assert.equal(result.verified, true)
      assert.equal(result.user, 10001, 'the daemons do not run as root')
      assert.equal(result.job.state, 'succeeded')
      assert.match(result.job.digest, /^[0-9a-f]{64}$/)
      assert.ok(result.job.peers >= 3, 'the stopped peer and its replacement both took part')
      assert.ok(['contributing', 'proving'].includes(result.stoppedIn), 'stopped mid-job')
      assert.ok(result.movedSegments.length > 0, 'the stopped peer held unproved segments, which moved')
      process.stderr.write(
        `docker testnet: up → verified proof in ${result.upToVerifiedMs} ms; ${result.stopped} stopped while ${result.stoppedIn}\n`
      )
    }
  )
})
