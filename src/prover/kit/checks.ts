/**
 * The checks of the conformance kit, in the order they run: each drives the prover through one rule of
 * protocols/native-prover.md with inputs the kit generates, and names the spec section it checks.
 */
import { readFile, stat, writeFile } from 'node:fs/promises'
import { computeChallenge } from '../challenge.js'
import { jobSegments } from '../../job/layout.js'
import { segmentOf } from '../prove-job.js'
import { NPP_LATEST_VERSION, NppErrorCode, type Program, type Segment } from '../types.js'
import {
  CheckSkipped,
  DAEMON_HELLO,
  expectError,
  fail,
  type KitContext,
  type ProgramRun,
  randomFile,
  resultOf,
  sha256File,
  specDeadlines,
  tamperedCopy
} from './context.js'
import type { KitSession, Reply } from './session.js'

export interface Check {
  name: string
  /** The spec section the check holds the prover to */
  section: string
  run: (ctx: KitContext) => Promise<void>
}

type Kind = 'segmented' | 'unsegmented'

/** Input sizes in blocks: several segments of a few blocks each, so that chaining and swaps can be checked */
const PLAN_BLOCKS = 6
const PLAN_MAX_SEGMENT_BLOCKS = 2
/** The input of the cancel and busy checks: one big segment, at most this many bytes */
const BIG_INPUT_MAX_BYTES = 64 * 1024 * 1024

async function fileExists(path: string): Promise<boolean> {
  return await stat(path).then(
    () => true,
    () => false
  )
}

/** The `out` file a result describes: there, of the size and SHA-256 the result says */
async function checkOutFile(
  out: string,
  result: { size: number; sha256: string },
  at: string
): Promise<void> {
  const size = await stat(out).then(
    (info) => info.size,
    () => fail(`${at}no file at out`)
  )
  if (size !== result.size) fail(`${at}result.size ${result.size}, the file has ${size}`)
  if ((await sha256File(out)) !== result.sha256) fail(`${at}result.sha256 is not the file's`)
}

/** The layout a daemon would give `plan`: for a segmented program, segments of at most PLAN_MAX_SEGMENT_BLOCKS */
function kitLayout(program: Program, inputSize: number): Segment[] {
  return jobSegments(program, inputSize, [{ id: 'kit', units: 1 }], PLAN_MAX_SEGMENT_BLOCKS).map(segmentOf)
}

/** Checks what `plan` adds to a layout; returns nothing, fails with the first broken rule */
function checkPlan(run: ProgramRun, plan: ProgramRun['plan'] & object, segments: Segment[]): void {
  const { program, inputSize } = run
  if (plan.program !== program.id) fail(`plan.program is '${plan.program}', asked for '${program.id}'`)
  if (plan.inputSize !== inputSize)
    fail(`plan.inputSize is ${plan.inputSize}, the input has ${inputSize} bytes`)
  const blocks = segments.reduce((sum, segment) => sum + segment.blockCount, 0)
  if (plan.totalBlocks !== blocks)
    fail(`plan.totalBlocks is ${plan.totalBlocks}, the layout covers ${blocks} blocks`)
}

/** A work call that may take long: the kit's call deadline */
async function work(ctx: KitContext, method: string, params: unknown): Promise<Reply> {
  return await (await ctx.session()).call(method, params, ctx.options.callTimeoutMs)
}

function planCheck(kind: Kind): Check {
  return {
    name: `plan (${kind})`,
    section: 'plan',
    run: async (ctx) => {
      const run = ctx.run(kind)
      const segments = kitLayout(run.program, run.inputSize)
      const hintsOut = ctx.path('hints')
      const plan = resultOf(
        await work(ctx, 'plan', {
          job: run.job,
          program: run.program.id,
          input: { path: run.input, offset: 0 },
          segments,
          hintsOut
        }),
        'plan'
      )
      checkPlan(run, plan, segments)
      if (plan.digest === undefined) fail('plan with hintsOut answered no digest')
      if (plan.hints !== undefined) {
        const size = await stat(plan.hints.path).then(
          (info) => info.size,
          () => fail(`plan.hints.path ${plan.hints?.path} does not exist`)
        )
        if (size !== plan.hints.size)
          fail(`plan.hints.size is ${plan.hints.size}, the file has ${size} bytes`)
      }
      run.segments = segments
      run.plan = plan
    }
  }
}

/** Layouts no daemon sends: each must be refused with INVALID_SEGMENT */
function badLayouts(program: Program, inputSize: number): Array<[string, Segment[]]> {
  const good = kitLayout(program, inputSize)
  const shifted = good.map((segment) => ({ ...segment, inputOffset: segment.inputOffset + 1 }))
  if (!program.segmented) {
    return [
      ['two blocks for a segmented: false program', [{ ...(good[0] as Segment), blockCount: 2 }]],
      ['a byte range that is not the whole input', shifted]
    ]
  }
  const [first, , ...rest] = good
  return [
    ['a gap (segment 1 left out)', [first as Segment, ...rest.map((s, i) => ({ ...s, index: i + 1 }))]],
    ['not covering the input (the last segment left out)', good.slice(0, -1)],
    ['an inputOffset that is not blockBytes · startBlock', shifted],
    ['no segment at all', []]
  ]
}

function planRefusesCheck(kind: Kind): Check {
  return {
    name: `plan refuses a bad layout (${kind})`,
    section: 'plan',
    run: async (ctx) => {
      const run = ctx.run(kind)
      for (const [what, segments] of badLayouts(run.program, run.inputSize)) {
        expectError(
          await work(ctx, 'plan', {
            job: `${run.job}-bad-layout`,
            program: run.program.id,
            input: { path: run.input, offset: 0 },
            segments
          }),
          NppErrorCode.INVALID_SEGMENT,
          `plan of a layout with ${what}`
        )
      }
    }
  }
}

function emptyPlanCheck(kind: Kind): Check {
  return {
    name: `plan of the empty input (${kind})`,
    section: 'plan',
    run: async (ctx) => {
      const { program } = ctx.run(kind)
      const input = ctx.path('empty-input')
      await writeFile(input, '')
      const segments = kitLayout(program, 0)
      const plan = resultOf(
        await work(ctx, 'plan', {
          job: 'kit-empty',
          program: program.id,
          input: { path: input, offset: 0 },
          segments
        }),
        'plan'
      )
      const blocks = program.segmented ? 0 : 1
      if (plan.totalBlocks !== blocks) fail(`totalBlocks is ${plan.totalBlocks}, expected ${blocks}`)
      if (plan.inputSize !== 0) fail(`inputSize is ${plan.inputSize}, expected 0`)
    }
  }
}

function contributeCheck(kind: Kind): Check {
  return {
    name: `contribute (${kind})`,
    section: 'contribute',
    run: async (ctx) => {
      const run = ctx.run(kind)
      const plan = ctx.need(run.plan, `plan (${kind})`)
      const segments = ctx.need(run.segments, `plan (${kind})`)
      const contributions: string[] = []
      for (const segment of segments) {
        const params = {
          job: run.job,
          program: run.program.id,
          inputSize: run.inputSize,
          segment: segmentOf(segment),
          input: { path: run.input, offset: 0 }
        }
        const first = resultOf(await work(ctx, 'contribute', params), 'contribute')
        if (first.segment !== segment.index)
          fail(`result.segment is ${first.segment}, asked for ${segment.index}`)
        const again = resultOf(await work(ctx, 'contribute', params), 'contribute')
        if (again.contribution !== first.contribution)
          fail(`segment ${segment.index}: two calls gave two contributions (it must be deterministic)`)
        if (plan.hints !== undefined) {
          const slice = ctx.path(`slice-${segment.index}`)
          const bytes = await readFile(run.input)
          await writeFile(
            slice,
            bytes.subarray(segment.inputOffset, segment.inputOffset + segment.inputLength)
          )
          const hinted = resultOf(
            await work(ctx, 'contribute', {
              ...params,
              input: { path: slice, offset: segment.inputOffset },
              hints: plan.hints.path
            }),
            'contribute'
          )
          if (hinted.contribution !== first.contribution)
            fail(
              `segment ${segment.index}: the slice with hints gave another contribution than the whole input`
            )
        }
        contributions.push(first.contribution)
      }
      run.contributions = contributions
      run.challenge = computeChallenge(run.job, contributions)
    }
  }
}

function proveCheck(kind: Kind): Check {
  return {
    name: `prove (${kind})`,
    section: 'prove',
    run: async (ctx) => {
      const run = ctx.run(kind)
      const segments = ctx.need(run.segments, `plan (${kind})`)
      const challenge = ctx.need(run.challenge, `contribute (${kind})`)
      const proofs: string[] = []
      for (const segment of segments) {
        const out = ctx.path(`proof-${segment.index}`)
        const result = resultOf(
          await work(ctx, 'prove', {
            job: run.job,
            program: run.program.id,
            inputSize: run.inputSize,
            segment: segmentOf(segment),
            input: { path: run.input, offset: 0 },
            challenge,
            out
          }),
          'prove'
        )
        if (result.segment !== segment.index)
          fail(`result.segment is ${result.segment}, asked for ${segment.index}`)
        await checkOutFile(out, result, `segment ${segment.index}: `)
        proofs.push(out)
      }
      run.proofs = proofs
    }
  }
}

function aggregateParams(ctx: KitContext, run: ProgramRun, out: string): Record<string, unknown> {
  return {
    job: run.job,
    program: run.program.id,
    inputSize: run.inputSize,
    challenge: ctx.need(run.challenge, 'contribute'),
    contributions: ctx.need(run.contributions, 'contribute'),
    proofs: ctx.need(run.proofs, 'prove'),
    out
  }
}

function aggregateCheck(kind: Kind): Check {
  return {
    name: `aggregate (${kind})`,
    section: 'aggregate',
    run: async (ctx) => {
      const run = ctx.run(kind)
      const plan = ctx.need(run.plan, `plan (${kind})`)
      const out = ctx.path('final')
      // named as a daemon names a session's aggregate: cancel and progress know the request by that name
      const name = `${run.job}-session`
      const session = await ctx.session()
      const seen = session.notifications.length
      const result = resultOf(
        await work(ctx, 'aggregate', { ...aggregateParams(ctx, run, out), name }),
        'aggregate'
      )
      const misnamed = session.notifications
        .slice(seen)
        .map(({ params }) => params as { job?: unknown; phase?: unknown })
        .find((params) => params.phase === 'aggregate' && params.job !== name)
      if (misnamed !== undefined)
        fail(
          `aggregate named '${name}' reported progress as job ${JSON.stringify(misnamed.job)}, not its name`
        )
      const segments = ctx.need(run.segments, `plan (${kind})`)
      if (result.segments !== segments.length)
        fail(`result.segments is ${result.segments}, the layout has ${segments.length}`)
      if (result.digest !== plan.digest)
        fail(`result.digest ${result.digest} is not plan's digest ${plan.digest}`)
      await checkOutFile(out, result, '')
      run.finalProof = out
    }
  }
}

function aggregateRefusesCheck(kind: Kind): Check {
  return {
    name: `aggregate refuses bad partial proofs (${kind})`,
    section: 'aggregate',
    run: async (ctx) => {
      const run = ctx.run(kind)
      const proofs = ctx.need(run.proofs, `prove (${kind})`)
      const base = aggregateParams(ctx, run, ctx.path('refused-final'))
      expectError(
        await work(ctx, 'aggregate', { ...base, name: 7 }),
        NppErrorCode.INVALID_PARAMS,
        'aggregate with a name that is not a string'
      )
      const wrongChallenge = await work(ctx, 'aggregate', { ...base, challenge: 'ab'.repeat(32) })
      expectError(
        wrongChallenge,
        NppErrorCode.INVALID_PARAMS,
        'a challenge that is not the formula over the contributions'
      )
      const last = proofs.length - 1
      const tampered = ctx.path(`tampered-proof-${last}`)
      await tamperedCopy(proofs[last] ?? fail('no proofs'), tampered)
      const flipped = await work(ctx, 'aggregate', {
        ...base,
        proofs: proofs.map((p, i) => (i === last ? tampered : p))
      })
      expectError(flipped, NppErrorCode.PROOF_INVALID, `segment ${last}'s proof with one byte flipped`)
      const data = flipped.error?.data as { segment?: unknown; reason?: unknown } | undefined
      if (data?.segment !== last)
        fail(`PROOF_INVALID names data.segment ${JSON.stringify(data?.segment)}, not ${last}`)
      if (typeof data.reason !== 'string') fail('PROOF_INVALID has no string data.reason')
      if (proofs.length >= 2) {
        const swapped = [proofs[1], proofs[0], ...proofs.slice(2)]
        expectError(
          await work(ctx, 'aggregate', { ...base, proofs: swapped }),
          NppErrorCode.PROOF_INVALID,
          'proofs 0 and 1 swapped'
        )
      }
    }
  }
}

function verifyGoodCheck(kind: Kind): Check {
  return {
    name: `verify a good proof (${kind})`,
    section: 'verify',
    run: async (ctx) => {
      const run = ctx.run(kind)
      const plan = ctx.need(run.plan, `plan (${kind})`)
      const proof = ctx.need(run.finalProof, `aggregate (${kind})`)
      for (const extra of [{}, { digest: plan.digest, job: run.job, input: run.input }]) {
        const result = resultOf(
          await work(ctx, 'verify', { program: run.program.id, proof, ...extra }),
          'verify'
        )
        const asked = Object.keys(extra).length === 0 ? 'alone' : 'with digest, job and input'
        if (!result.valid) fail(`verify ${asked}: valid false (${result.reason ?? 'no reason'})`)
        if (result.reason !== undefined) fail(`verify ${asked}: valid true comes with a reason`)
        if (result.digest !== undefined && result.digest !== plan.digest)
          fail(`verify ${asked}: digest ${result.digest}, plan said ${plan.digest}`)
        if (result.inputSize !== undefined && result.inputSize !== run.inputSize)
          fail(`verify ${asked}: inputSize ${result.inputSize}`)
        if (result.job !== undefined && result.job !== run.job) fail(`verify ${asked}: job ${result.job}`)
        if (result.segments !== undefined && result.segments !== run.segments?.length)
          fail(`verify ${asked}: segments ${result.segments}`)
      }
    }
  }
}

function verifyBadCheck(kind: Kind): Check {
  return {
    name: `verify a tampered proof (${kind})`,
    section: 'verify',
    run: async (ctx) => {
      const run = ctx.run(kind)
      const proof = ctx.need(run.finalProof, `aggregate (${kind})`)
      const tampered = ctx.path('tampered-final')
      await tamperedCopy(proof, tampered)
      const garbage = ctx.path('garbage-final')
      await randomFile(garbage, 4096)
      const cases: [string, Record<string, unknown>][] = [
        ['one byte flipped', { proof: tampered }],
        ['random bytes', { proof: garbage }],
        ['another job', { proof, job: `${run.job}-other` }],
        [
          'another digest',
          { proof, digest: '00'.repeat(32) === run.plan?.digest ? '11'.repeat(32) : '00'.repeat(32) }
        ]
      ]
      for (const [what, params] of cases) {
        const result = resultOf(await work(ctx, 'verify', { program: run.program.id, ...params }), 'verify')
        if (result.valid) fail(`${what}: valid true`)
        if (typeof result.reason !== 'string') fail(`${what}: valid false without a reason`)
        const others = Object.keys(result).filter((key) => key !== 'valid' && key !== 'reason')
        if (others.length > 0) fail(`${what}: valid false also reports ${others.join(', ')}`)
      }
      const missing = await work(ctx, 'verify', { program: run.program.id, proof: ctx.path('no-such-proof') })
      expectError(missing, NppErrorCode.IO_ERROR, 'a proof file that does not exist')
    }
  }
}

/** The biggest input one segment of the program takes, within BIG_INPUT_MAX_BYTES */
async function bigSegment(
  ctx: KitContext,
  kind: Kind
): Promise<{ run: ProgramRun; input: string; segment: Segment }> {
  const run = ctx.run(kind)
  const size = run.program.segmented
    ? Math.min(BIG_INPUT_MAX_BYTES, run.program.blockBytes * run.program.maxSegmentBlocks)
    : BIG_INPUT_MAX_BYTES
  const input = ctx.path('big-input')
  await randomFile(input, size)
  const blockCount = run.program.segmented ? Math.ceil(size / run.program.blockBytes) : 1
  return { run, input, segment: { index: 0, startBlock: 0, blockCount, inputOffset: 0, inputLength: size } }
}

function proveParams(
  run: ProgramRun,
  input: string,
  segment: Segment,
  job: string,
  out: string
): Record<string, unknown> {
  return {
    job,
    program: run.program.id,
    inputSize: segment.inputLength,
    segment,
    input: { path: input, offset: 0 },
    challenge: 'c0'.repeat(32),
    out
  }
}

function cancelMidCallCheck(kind: Kind): Check {
  return {
    name: `cancel mid-call (${kind})`,
    section: 'cancel',
    run: async (ctx) => {
      const { run, input, segment } = await bigSegment(ctx, kind)
      const session = await ctx.session()
      const out = ctx.path('cancelled-proof')
      const job = `kit-cancel-${kind}`
      const proveId = session.send('prove', proveParams(run, input, segment, job, out))
      const cancel = resultOf(await session.call('cancel', { job }, specDeadlines.cancelMs), 'cancel')
      const cancelledAt = session.now()
      // a prove that finished before the cancel already answered; one still running must stop within the bound
      const prove = await session.reply(proveId, specDeadlines.cancelledWithinMs, "the cancelled 'prove'")
      if (prove.error === undefined && cancel.cancelled === 0)
        throw new CheckSkipped(
          `the prove finished before the cancel came (${segment.inputLength} bytes): nothing to cancel`
        )
      if (cancel.cancelled < 1) fail(`cancel answered cancelled ${cancel.cancelled} while the prove ran`)
      expectError(prove, NppErrorCode.CANCELLED, 'the cancelled prove')
      if (prove.at - cancelledAt > specDeadlines.cancelledWithinMs)
        fail(`the cancelled prove answered ${prove.at - cancelledAt} ms after the cancel`)
      if (await fileExists(out)) fail('a cancelled prove wrote its out file')
    }
  }
}

function busyPingCheck(kind: Kind): Check {
  return {
    name: `ping while a prove runs (${kind})`,
    section: 'ping',
    run: async (ctx) => {
      const { run, input, segment } = await bigSegment(ctx, kind)
      const session = await ctx.session()
      const job = `kit-busy-${kind}`
      const proveId = session.send('prove', proveParams(run, input, segment, job, ctx.path('busy-proof')))
      try {
        expectPong(await session.call('ping', {}, specDeadlines.pingMs), 'the ping during the prove')
      } finally {
        await session.call('cancel', { job }, specDeadlines.cancelMs).catch(() => undefined)
        await session
          .reply(proveId, specDeadlines.cancelledWithinMs, "the busy 'prove'")
          .catch(() => undefined)
      }
    }
  }
}

function concurrentCheck(kind: Kind): Check {
  return {
    name: `concurrent calls (${kind})`,
    section: 'Conventions',
    run: async (ctx) => {
      const run = ctx.run(kind)
      const segments = ctx.need(run.segments, `plan (${kind})`)
      const contributions = ctx.need(run.contributions, `contribute (${kind})`)
      const session = await ctx.session()
      // every request written before any reply is read: the prover must answer each by its id
      const ids = segments.map((segment) =>
        session.send('contribute', {
          job: run.job,
          program: run.program.id,
          inputSize: run.inputSize,
          segment: segmentOf(segment),
          input: { path: run.input, offset: 0 }
        })
      )
      const pingId = session.send('ping', {})
      const cancelId = session.send('cancel', { job: 'kit-nothing-running' })
      for (const [i, id] of ids.entries()) {
        const result = resultOf(
          await session.reply(id, ctx.options.callTimeoutMs, `concurrent contribute ${i}`),
          'contribute'
        )
        if (result.contribution !== contributions[i])
          fail(`the reply to contribute ${i} (id ${id}) has another segment's contribution`)
      }
      expectPong(
        await session.reply(pingId, specDeadlines.pingMs, 'the ping among them'),
        'the ping among them'
      )
      const cancel = resultOf(
        await session.reply(cancelId, specDeadlines.cancelMs, 'the cancel among them'),
        'cancel'
      )
      if (cancel.cancelled !== 0)
        fail(`cancel of a job with nothing running answered cancelled ${cancel.cancelled}`)
    }
  }
}

/** A ping's answer: `{}` (a v1 prover's METHOD_NOT_FOUND keeps a daemon's liveness check happy, not the kit) */
function expectPong(reply: Reply, what: string): void {
  const result = resultOf(reply, 'ping')
  if (Object.keys(result).length !== 0) fail(`${what}: answered ${JSON.stringify(result)}, expected {}`)
}

async function callOn(ctx: KitContext, method: string, params: unknown, ms: number): Promise<Reply> {
  return await (await ctx.session()).call(method, params, ms)
}

/** Checks that need only a running prover */
const BASIC: Check[] = [
  {
    name: 'hello',
    section: 'hello',
    run: async (ctx) => {
      const session = await ctx.session()
      const hello = resultOf(await session.call('hello', DAEMON_HELLO, specDeadlines.helloMs), 'hello')
      if (hello.protocol !== NPP_LATEST_VERSION)
        fail(
          `offered versions ${DAEMON_HELLO.versions?.join(', ')}, the prover chose ${hello.protocol}: the kit checks NPP ${NPP_LATEST_VERSION} (a daemon still drives a v1 prover, see "Versions")`
        )
      if (hello.programs.length === 0) fail('hello lists no programs')
      const ids = hello.programs.map((program) => program.id)
      if (new Set(ids).size !== ids.length) fail(`program ids repeat: ${ids.join(', ')}`)
      for (const program of hello.programs) {
        if (program.blockBytes < 1) fail(`program '${program.id}' has blockBytes ${program.blockBytes}`)
        if (program.maxSegmentBlocks < 1)
          fail(`program '${program.id}' has maxSegmentBlocks ${program.maxSegmentBlocks}`)
      }
      ctx.hello = hello
      for (const [kind, segmented] of [
        ['segmented', true],
        ['unsegmented', false]
      ] as const) {
        const program = hello.programs.find((p) => p.segmented === segmented)
        if (program === undefined) continue
        const inputSize = segmented
          ? program.blockBytes * (PLAN_BLOCKS - 1) + Math.max(1, program.blockBytes >> 1)
          : 1000
        const input = ctx.path(`input-${kind}`)
        await randomFile(input, inputSize)
        ctx.runs.set(kind, { program, job: `kit-${kind}-job`, input, inputSize })
      }
    }
  },
  {
    name: 'hello with a version the prover does not speak',
    section: 'Versions',
    run: async (ctx) => {
      const session = ctx.standalone()
      try {
        const reply = await session.call(
          'hello',
          { protocol: 999_999, versions: [999_999] },
          specDeadlines.helloMs
        )
        expectError(reply, NppErrorCode.INVALID_PARAMS, 'hello offering only version 999999')
      } finally {
        await session.close(specDeadlines.exitAfterShutdownMs)
      }
    }
  },
  {
    name: 'hello from a daemon that predates versions',
    section: 'Versions',
    run: async (ctx) => {
      const session = ctx.standalone()
      try {
        // a v1 daemon sends only `protocol: 1`: the answer is v1, or a refusal, never a version it did not offer
        const reply = await session.call('hello', { protocol: 1 }, specDeadlines.helloMs)
        if (reply.error !== undefined)
          expectError(reply, NppErrorCode.INVALID_PARAMS, 'hello with protocol 1 and no versions')
        else if (resultOf(reply, 'hello').protocol !== 1)
          fail(`a v1 daemon's hello was answered with protocol ${resultOf(reply, 'hello').protocol}`)
      } finally {
        await session.close(specDeadlines.exitAfterShutdownMs)
      }
    }
  },
  {
    name: 'ping',
    section: 'ping',
    run: async (ctx) => {
      expectPong(await callOn(ctx, 'ping', {}, specDeadlines.pingMs), 'ping')
    }
  },
  {
    name: 'unknown method',
    section: 'Errors',
    run: async (ctx) => {
      expectError(
        await callOn(ctx, 'kit-frobnicate', {}, specDeadlines.pingMs),
        NppErrorCode.METHOD_NOT_FOUND,
        "method 'kit-frobnicate'"
      )
    }
  },
  {
    name: 'malformed requests',
    section: 'Errors',
    run: async (ctx) => {
      const session = await ctx.session()
      session.writeLine('{this is not json')
      expectError(
        await session.reply(null, specDeadlines.pingMs, 'a line that is not JSON'),
        NppErrorCode.PARSE_ERROR,
        'a line that is not JSON'
      )
      const cases: [string, string, string][] = [
        [
          'no jsonrpc',
          JSON.stringify({ id: 'kit-no-jsonrpc', method: 'ping', params: {} }),
          'kit-no-jsonrpc'
        ],
        [
          'method not a string',
          JSON.stringify({ jsonrpc: '2.0', id: 'kit-method-7', method: 7 }),
          'kit-method-7'
        ],
        [
          'params a number',
          JSON.stringify({ jsonrpc: '2.0', id: 'kit-params-7', method: 'ping', params: 7 }),
          'kit-params-7'
        ]
      ]
      for (const [what, line, id] of cases) {
        session.writeLine(line)
        // the reply carries the id when the prover could read it, null otherwise
        const reply = await session.reply([id, null], specDeadlines.pingMs, what)
        expectError(reply, NppErrorCode.INVALID_REQUEST, what)
      }
      session.writeLine(JSON.stringify({ jsonrpc: '2.0', method: 'ping', params: {} }))
      expectPong(await session.call('ping', {}, specDeadlines.pingMs), 'a ping after the malformed lines')
      expectError(
        await callOn(ctx, 'contribute', {}, ctx.options.callTimeoutMs),
        NppErrorCode.INVALID_PARAMS,
        'contribute with no params'
      )
      expectError(
        await callOn(ctx, 'cancel', { job: 7 }, specDeadlines.cancelMs),
        NppErrorCode.INVALID_PARAMS,
        'cancel with a number for job'
      )
    }
  },
  {
    name: 'a notification gets no answer',
    section: 'Errors',
    run: async (ctx) => {
      const session = await ctx.session()
      session.writeLine(JSON.stringify({ jsonrpc: '2.0', method: 'kit-notice', params: {} }))
      expectPong(await session.call('ping', {}, specDeadlines.pingMs), 'the ping after the notification')
      const stray = await session.reply(null, 1, 'a reply to the notification').catch(() => undefined)
      if (stray !== undefined) fail(`a notification was answered: ${JSON.stringify(stray)}`)
    }
  },
  {
    name: 'cancel with nothing running',
    section: 'cancel',
    run: async (ctx) => {
      const result = resultOf(
        await callOn(ctx, 'cancel', { job: 'kit-idle' }, specDeadlines.cancelMs),
        'cancel'
      )
      if (result.cancelled !== 0) fail(`answered cancelled ${result.cancelled}`)
    }
  },
  {
    name: 'unknown program',
    section: 'Errors',
    run: async (ctx) => {
      const input = ctx.path('unknown-program-input')
      await randomFile(input, 100)
      const params = {
        job: 'kit-unknown',
        program: 'kit-no-such-program',
        input: { path: input, offset: 0 },
        segments: [{ index: 0, startBlock: 0, blockCount: 1, inputOffset: 0, inputLength: 100 }]
      }
      expectError(await work(ctx, 'plan', params), NppErrorCode.UNKNOWN_PROGRAM, 'plan of an unknown program')
      expectError(
        await work(ctx, 'verify', { program: 'kit-no-such-program', proof: input }),
        NppErrorCode.UNKNOWN_PROGRAM,
        'verify of an unknown program'
      )
    }
  }
]

function programChecks(kind: Kind): Check[] {
  return [
    planCheck(kind),
    planRefusesCheck(kind),
    emptyPlanCheck(kind),
    contributeCheck(kind),
    proveCheck(kind),
    aggregateCheck(kind),
    aggregateRefusesCheck(kind),
    verifyGoodCheck(kind),
    verifyBadCheck(kind),
    concurrentCheck(kind),
    cancelMidCallCheck(kind),
    busyPingCheck(kind)
  ]
}

const PROGRESS_PHASES = new Set(['plan', 'contribute', 'prove', 'aggregate', 'verify'])
const LOG_LEVELS = new Set(['debug', 'info', 'warn', 'error'])
const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0

/** Every notification the sessions carried, against "Notifications"; fails with the first that breaks a rule */
function checkNotifications(sessions: readonly KitSession[]): void {
  // "done only grows within a request" is not checked: a notification does not name its request, and two
  // requests of one job, phase and segment (the kit sends such) each start from their own first value
  for (const session of sessions) {
    for (const { method, params } of session.notifications) {
      const text = JSON.stringify(params)?.slice(0, 160)
      const p = (typeof params === 'object' && params !== null ? params : {}) as Record<string, unknown>
      if (method === 'log') {
        if (typeof p.level !== 'string' || !LOG_LEVELS.has(p.level) || typeof p.message !== 'string')
          fail(`a log notification ${text}`)
        continue
      }
      if (method !== 'progress') fail(`a notification '${method}', which the spec does not have`)
      if (typeof p.job !== 'string' || typeof p.phase !== 'string' || !PROGRESS_PHASES.has(p.phase))
        fail(`progress ${text}: job or phase`)
      if (!isCount(p.done) || !isCount(p.total) || p.done > p.total)
        fail(`progress ${text}: needs 0 ≤ done ≤ total`)
      if (p.segment !== undefined && !isCount(p.segment)) fail(`progress ${text}: segment`)
    }
  }
}

/** Checks over everything the earlier checks' sessions carried, then the end of the prover */
function closingChecks(): Check[] {
  return [
    {
      name: 'notifications',
      section: 'Notifications',
      run: async (ctx) => {
        checkNotifications(ctx.sessions)
      }
    },
    {
      name: 'stdout carries only protocol lines',
      section: 'Conventions',
      run: async (ctx) => {
        const garbage = ctx.sessions.flatMap((session) => session.garbage)
        if (garbage.length > 0)
          fail(`${garbage.length} line(s) that are not JSON-RPC 2.0 messages, first: ${garbage[0]}`)
      }
    },
    {
      name: 'shutdown while a call runs',
      section: 'shutdown',
      run: async (ctx) => {
        const kind: Kind = ctx.runs.has('segmented') ? 'segmented' : 'unsegmented'
        const { run, input, segment } = await bigSegment(ctx, kind)
        const session = await ctx.session()
        const proveId = session.send(
          'prove',
          proveParams(run, input, segment, 'kit-shutdown', ctx.path('shutdown-proof'))
        )
        const shutdownId = session.send('shutdown', {})
        const shutdown = await session.reply(shutdownId, specDeadlines.shutdownReplyMs, "'shutdown'")
        resultOf(shutdown, 'shutdown')
        const prove = await session
          .reply(proveId, 1, 'the running prove')
          .catch(() => fail('the running prove was not answered before shutdown'))
        if (prove.at > shutdown.at) fail('the running prove was answered after shutdown')
        if (!(await session.waitForExit(specDeadlines.exitAfterShutdownMs))) {
          await session.close(0)
          fail(`the prover did not exit within ${specDeadlines.exitAfterShutdownMs} ms of its shutdown reply`)
        }
        if (session.exited?.code !== 0)
          fail(`the prover exited with ${JSON.stringify(session.exited)}, expected code 0`)
      }
    },
    {
      name: 'end of input',
      section: 'shutdown',
      run: async (ctx) => {
        const session = ctx.standalone()
        try {
          resultOf(await session.call('hello', DAEMON_HELLO, specDeadlines.helloMs), 'hello')
          session.endInput()
          if (!(await session.waitForExit(specDeadlines.exitAfterShutdownMs)))
            fail(
              `the prover did not exit within ${specDeadlines.exitAfterShutdownMs} ms of the end of its stdin`
            )
          if (session.exited?.code !== 0)
            fail(`the prover exited with ${JSON.stringify(session.exited)}, expected code 0`)
        } finally {
          await session.close(0)
        }
      }
    }
  ]
}

export function allChecks(): Check[] {
  return [...BASIC, ...programChecks('segmented'), ...programChecks('unsegmented'), ...closingChecks()]
}
