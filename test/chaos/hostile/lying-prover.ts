/**
 * A prover that lies in phase 1, for a real daemon of the hostile suite (its `--prover-command`): the NPP prover
 * named on its command line does all the work, and every `contribute` answer is passed on with one hex digit of
 * the contribution changed. Its proofs are honest, so the lie shows only when they are checked against the
 * contributions (the aggregator's PROOF_INVALID) and when another peer computes the same segment.
 *
 * Usage: node lying-prover.js PROVER [ARGS…]
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

const [command, ...args] = process.argv.slice(2)
if (command === undefined) {
  process.stderr.write('usage: lying-prover PROVER [ARGS...]\n')
  process.exit(2)
}

const prover = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] })
/** Ids of the contribute requests whose answers are still to come */
const contributes = new Set<unknown>()

interface RpcLine {
  id?: unknown
  method?: unknown
  result?: { contribution?: unknown }
}

function parse(line: string): RpcLine | undefined {
  try {
    const value: unknown = JSON.parse(line)
    return typeof value === 'object' && value !== null ? value : undefined
  } catch {
    return undefined
  }
}

/** The contribution with its first hex digit changed: still well formed, never the true one */
function lie(contribution: string): string {
  const first = contribution[0] === '0' ? '1' : '0'
  return `${first}${contribution.slice(1)}`
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const request = parse(line)
    if (request?.method === 'contribute') contributes.add(request.id)
    prover.stdin.write(`${line}\n`)
  })
  .on('close', () => prover.stdin.end())

createInterface({ input: prover.stdout }).on('line', (line) => {
  const reply = parse(line)
  const contribution = reply?.result?.contribution
  if (reply !== undefined && contributes.delete(reply.id) && typeof contribution === 'string') {
    process.stdout.write(
      `${JSON.stringify({ ...reply, result: { ...reply.result, contribution: lie(contribution) } })}\n`
    )
    return
  }
  process.stdout.write(`${line}\n`)
})

prover.on('exit', (code) => process.exit(code ?? 1))
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => prover.kill(signal))
