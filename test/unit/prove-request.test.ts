import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { runProve } from '../../node/commands/prove.js'
import { ephemeralOptions } from '../../node/prove/ephemeral-options.js'
import { checkOutDir, checkProveFiles } from '../../node/prove/files.js'
import { buildProveRequest, type ProveArgs } from '../../node/prove/request.js'
import { cliError } from '../helpers/cli-error.js'

function usageError(args: ProveArgs, pattern: RegExp): Promise<void> {
  return cliError(() => buildProveRequest(args, '/work')).then((err) => {
    assert.equal(err.exitCode, 2, err.message)
    assert.match(err.message, pattern)
  })
}

const base: ProveArgs = { inputs: 'block-1.bin', 'compute-capacity': 8 }

describe('prove: flags to the POST /v1/jobs body', () => {
  it('sends a name in path mode and only the fields given', () => {
    assert.deepEqual(buildProveRequest(base, '/work'), {
      inputMode: 'path',
      input: 'block-1.bin',
      computeCapacity: 8
    })
  })

  it('makes a --direct-inputs file and a hints file absolute', () => {
    assert.deepEqual(
      buildProveRequest(
        {
          ...base,
          'direct-inputs': true,
          inputs: 'data/in.bin',
          hints: '../hints.bin',
          'minimal-compute-capacity': 4,
          priority: -20,
          program: 'rescue-sponge',
          'data-id': 'block one',
          timeout: '10m',
          'webhook-url': 'https://hooks.example.org/x',
          'save-proofs': false
        },
        '/work/dir'
      ),
      {
        inputMode: 'data',
        input: '/work/dir/data/in.bin',
        computeCapacity: 8,
        program: 'rescue-sponge',
        hints: { kind: 'file', path: '/work/hints.bin' },
        minimalComputeCapacity: 4,
        priority: -20,
        dataId: 'block one',
        timeoutMs: 600_000,
        webhookUrl: 'https://hooks.example.org/x',
        saveProof: false
      }
    )
  })

  it('streams hints from a unix socket only with --stream-hints', async () => {
    assert.deepEqual(
      buildProveRequest({ ...base, hints: 'unix:///run/h.sock', 'stream-hints': true }, '/work').hints,
      { kind: 'socket', path: '/run/h.sock' }
    )
    await usageError({ ...base, hints: 'unix:///run/h.sock' }, /add --stream-hints/)
    await usageError({ ...base, 'stream-hints': true }, /--stream-hints needs --hints/)
  })

  it('refuses bad numbers with one line and exit 2', async () => {
    await usageError({ inputs: 'x' }, /--compute-capacity is required/)
    await usageError({ ...base, 'compute-capacity': 0 }, /--compute-capacity takes an integer/)
    await usageError({ ...base, 'compute-capacity': 2.5 }, /--compute-capacity takes an integer/)
    await usageError({ ...base, 'compute-capacity': Number.NaN }, /--compute-capacity .* got NaN/)
    await usageError({ ...base, 'minimal-compute-capacity': 0 }, /--minimal-compute-capacity takes/)
    await usageError({ ...base, 'minimal-compute-capacity': 9 }, /is more than --compute-capacity 8/)
    await usageError({ ...base, priority: 5000 }, /--priority takes an integer from -1000 to 1000/)
  })

  it('checks the timeout, the program and the other fields before sending', async () => {
    await usageError({ ...base, timeout: 'soon' }, /--timeout soon: expected a duration/)
    await usageError({ ...base, timeout: '500ms' }, /at least 1s/)
    await usageError({ ...base, program: 'No Such' }, /--program/)
    await usageError({ ...base, 'data-id': 'x'.repeat(200) }, /^--data-id: dataId/)
    await usageError({ ...base, 'webhook-url': 'ftp://x' }, /^--webhook-url: webhookUrl/)
    await usageError({ ...base, inputs: '' }, /--inputs is required/)
    await usageError({ ...base, inputs: '/abs/in.bin' }, /pass -x/)
  })

  it('wants a readable, non-empty regular file for --direct-inputs and --hints', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proofmesh-cli-prove-'))
    try {
      const input = join(dir, 'in.bin')
      const empty = join(dir, 'empty.bin')
      await writeFile(input, 'data')
      await writeFile(empty, '')
      const body = (inputs: string, hints?: string): ReturnType<typeof buildProveRequest> =>
        buildProveRequest({ ...base, 'direct-inputs': true, inputs, hints }, dir)
      await checkProveFiles(body(input))
      for (const [args, pattern] of [
        [body(join(dir, 'missing.bin')), /missing.bin: no such file/],
        [body(empty), /empty.bin is empty/],
        [body(dir), /is not a regular file/],
        [body(input, join(dir, 'nohints')), /--hints .*nohints: no such file/]
      ] as const) {
        const err = await cliError(() => checkProveFiles(args))
        assert.equal(err.exitCode, 2)
        assert.match(err.message, pattern)
      }
      // Path mode: the peers read the name, nothing to check here
      await checkProveFiles(buildProveRequest(base, dir))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('wants --out in a folder that exists and can be written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proofmesh-cli-out-'))
    try {
      await checkOutDir(join(dir, 'final.proof'))
      const file = join(dir, 'file')
      await writeFile(file, '')
      for (const [out, pattern] of [
        [join(dir, 'missing', 'final.proof'), /cannot write into .*missing/],
        [join(file, 'final.proof'), /file is not a folder/]
      ] as const) {
        const err = await cliError(() => checkOutDir(out))
        assert.equal(err.exitCode, 2)
        assert.match(err.message, pattern)
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('checks the --ephemeral flags', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const address = `/ip4/10.0.0.5/tcp/4001/p2p/${peer}`
    const body = buildProveRequest(base)
    const options = await ephemeralOptions(
      { ...base, ephemeral: true, bootstrap: [address], out: 'final.proof', json: true },
      body
    )
    assert.deepEqual(options.bootstrap, [address])
    assert.equal(options.saveProof, true)
    assert.equal(options.json, true)
    assert.equal(options.wait, true)
    assert.ok(options.out?.endsWith('/final.proof'))
    const bad = await cliError(() =>
      ephemeralOptions({ ...base, ephemeral: true, bootstrap: ['/ip4/10.0.0.5/tcp/4001'] }, body)
    )
    assert.equal(bad.exitCode, 2)
    assert.match(bad.message, /--bootstrap .*\/p2p\/<peer id>/)
    const stray = await cliError(() => runProve({ ...base, bootstrap: [address] }))
    assert.equal(stray.exitCode, 2)
    assert.match(stray.message, /go with --ephemeral/)
  })
})
