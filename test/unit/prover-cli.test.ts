import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import {
  CliProverBackend,
  type CliTemplates,
  splitCommandTemplate,
  substituteTemplate
} from '../../src/prover/cli-backend.js'
import { isCancelledError, ProverCommandError, ProverTimeoutError } from '../../src/prover/errors.js'
import { createProverBackend } from '../../src/prover/index.js'
import { captureLogger, isAlive, rejection, repoRoot, waitFor } from '../fixtures/prover/helpers.js'

const script = fileURLToPath(new URL('test/fixtures/prover/cli-prover.mjs', `file://${repoRoot}`))
const node = `'${process.execPath}' '${script}'`
const backends: CliProverBackend[] = []
let dir: string
let input: string

/**
 * The helper's pid once the command wrote it whole, else undefined. Not the file's mere existence: it exists
 * from its open, and a cancel that came between the open and the write (a loaded CI machine) left it empty, read
 * as pid 0, which `kill(0, 0)` finds alive for ever (this test's own process group).
 */
function helperPid(path: string): number | undefined {
  const pid = existsSync(path) ? Number(readFileSync(path, 'utf8')) : 0
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

function backend(templates: Partial<CliTemplates> = {}, killGraceMs = 500): CliProverBackend {
  const created = new CliProverBackend(
    {
      templates: { prove: `${node} prove {input} {output}`, verify: `${node} verify {proof}`, ...templates },
      killGraceMs
    },
    { logger: captureLogger().logger }
  )
  created.start()
  backends.push(created)
  return created
}

before(async () => {
  // A space in the folder name checks that a substituted path stays one argument
  dir = await mkdtemp(join(tmpdir(), 'proofmesh prover cli '))
  input = join(dir, 'input data')
  await writeFile(input, 'some input bytes')
})

after(async () => {
  await rm(dir, { recursive: true, force: true })
})

afterEach(async () => {
  for (const created of backends.splice(0)) {
    await created.stop()
  }
})

describe('cli command templates', () => {
  it('splits words like a shell, with quotes and escapes, and expands nothing', () => {
    assert.deepEqual(splitCommandTemplate('cargo-zisk prove -e {input} -o {output}'), [
      'cargo-zisk',
      'prove',
      '-e',
      '{input}',
      '-o',
      '{output}'
    ])
    assert.deepEqual(splitCommandTemplate(`a "b c" 'd "e"' f\\ g "h\\"i" ''`), [
      'a',
      'b c',
      'd "e"',
      'f g',
      'h"i',
      ''
    ])
    assert.deepEqual(splitCommandTemplate("say '$HOME | x'"), ['say', '$HOME | x'])
  })

  it('rejects templates a shell would read differently', () => {
    for (const template of [
      '',
      '   ',
      'a "b',
      "a 'b",
      'a b\\',
      'prove {input} > {output}',
      'a | b',
      'a; b',
      'echo $HOME'
    ]) {
      assert.throws(() => splitCommandTemplate(template), TypeError, template)
    }
  })

  it('substitutes placeholders inside each argument, keeping values with spaces whole', () => {
    const argv = splitCommandTemplate('prove --in={input} -o {output} --tag {job}-{job}')
    assert.deepEqual(substituteTemplate(argv, { input: '/a b/in', output: '/o; rm -rf /', job: 'j1' }), [
      'prove',
      '--in=/a b/in',
      '-o',
      '/o; rm -rf /',
      '--tag',
      'j1-j1'
    ])
    assert.throws(() => substituteTemplate(argv, { input: '/in' }), /no value for \{output\}/)
  })

  it('refuses unknown placeholders and templates without their output', () => {
    assert.throws(() => backend({ prove: 'prove {input} {ouput}' }), /unknown placeholder \{ouput\}/)
    assert.throws(() => backend({ prove: 'prove {input}' }), /must use \{output\}/)
    assert.throws(() => backend({ verify: 'verify {input}' }), /unknown placeholder \{input\}/)
    assert.throws(
      () => createProverBackend({ backend: 'cli' }, { logger: captureLogger().logger }),
      TypeError
    )
  })
})

describe('CliProverBackend', () => {
  it('proves with a real command and reports the proof file', async () => {
    const prover = backend({ program: 'stand-in' })
    assert.equal(prover.info.backend, 'cli')
    assert.equal(prover.info.programs[0]?.id, 'stand-in')
    assert.equal(prover.info.programs[0]?.segmented, false)
    const progress: number[] = []
    prover.addEventListener('progress', (evt) => progress.push(evt.detail.done))
    const out = join(dir, 'proof one')
    const result = await prover.proveJob({ job: 'j1', program: 'stand-in', input, out, workdir: dir })
    const proof = await readFile(out)
    const expected = `PROOF ${createHash('sha256').update('some input bytes').digest('hex')}\n`
    assert.equal(proof.toString(), expected)
    assert.equal(result.size, proof.length)
    assert.equal(result.sha256, createHash('sha256').update(proof).digest('hex'))
    assert.equal(result.segments, 1)
    assert.deepEqual(progress, [0, 1])
    assert.deepEqual(await prover.verify({ program: 'stand-in', proof: out }), { valid: true })
  })

  it('reports a proof the verify command rejects as invalid with its reason', async () => {
    const prover = backend()
    const forged = join(dir, 'forged')
    await writeFile(forged, 'NOT A PROOF')
    const result = await prover.verify({ program: 'cli', proof: forged })
    assert.equal(result.valid, false)
    assert.equal(result.reason, 'cli-prover: the proof has no PROOF header')
  })

  it('fails a prove command that exits non-zero with ProverCommandError and its stderr', async () => {
    const prover = backend({ prove: `${node} fail {input} {output}` })
    const err = await rejection(
      prover.proveJob({ job: 'j2', program: 'cli', input, out: join(dir, 'never'), workdir: dir })
    )
    assert.ok(err instanceof ProverCommandError)
    assert.equal(err.exitCode, 2)
    assert.deepEqual(err.stderr, ['cli-prover: boom'])
  })

  it('fails when the command does not exist', async () => {
    const prover = backend({ prove: '/nonexistent/prover {input} {output}' })
    const err = await rejection(
      prover.proveJob({ job: 'j3', program: 'cli', input, out: '/tmp/x', workdir: dir })
    )
    assert.ok(err instanceof ProverCommandError)
    assert.match(err.message, /ENOENT/)
  })

  it('kills the whole process group on timeout', async () => {
    const pidFile = join(dir, 'helper-timeout')
    const prover = backend({ prove: `${node} hang '${pidFile}' {output}` })
    const proving = rejection(
      prover.proveJob(
        { job: 'j4', program: 'cli', input, out: join(dir, 'o4'), workdir: dir },
        // long enough for the command to start its helper on a loaded machine: the kill must reach one
        { timeoutMs: 5_000 }
      )
    )
    const err = await proving
    assert.ok(err instanceof ProverTimeoutError)
    const helper = helperPid(pidFile)
    assert.ok(helper !== undefined, 'the command had not started its helper when its time was up')
    await waitFor(() => !isAlive(helper), 30_000, 'the helper process to die')
  })

  it('cancels a job: its command group is killed and the call rejects with CANCELLED', async () => {
    const pidFile = join(dir, 'helper-cancel')
    const prover = backend({ prove: `${node} hang '${pidFile}' {output}` })
    const proving = rejection(
      prover.proveJob({ job: 'j5', program: 'cli', input, out: join(dir, 'o5'), workdir: dir })
    )
    await waitFor(() => helperPid(pidFile) !== undefined, 5_000, 'the command to start its helper')
    assert.equal(await prover.cancel('other-job'), 0)
    assert.equal(await prover.cancel('j5'), 1)
    assert.ok(isCancelledError(await proving))
    const helper = helperPid(pidFile) as number // read whole before the cancel (waitFor above)
    await waitFor(() => !isAlive(helper), 30_000, 'the helper process to die')
  })

  it('stop() kills running commands', async () => {
    const pidFile = join(dir, 'helper-stop')
    const prover = backend({ prove: `${node} hang '${pidFile}' {output}` })
    const proving = rejection(
      prover.proveJob({ job: 'j6', program: 'cli', input, out: join(dir, 'o6'), workdir: dir })
    )
    await waitFor(() => helperPid(pidFile) !== undefined, 5_000, 'the command to start its helper')
    await prover.stop()
    assert.equal((await proving).name, 'ProverNotRunningError')
    const helper = helperPid(pidFile) as number // read whole before the cancel (waitFor above)
    await waitFor(() => !isAlive(helper), 30_000, 'the helper process to die')
    assert.equal(
      (await rejection(prover.verify({ program: 'cli', proof: join(dir, 'o6') }))).name,
      'ProverNotRunningError'
    )
  })
})
