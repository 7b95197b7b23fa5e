import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { delimiter, join } from 'node:path'
import { describe, it } from 'node:test'
import {
  computeUnits,
  type ExecFn,
  type HardwareInfo,
  NvidiaSmiParseError,
  parseNvidiaSmiCsv,
  probeHardware
} from '../../src/capacity/probe.js'
import { findPackageRoot } from '../../src/config/paths.js'
import { within } from '../fixtures/prover/helpers.js'

const fixtures = join(findPackageRoot(), 'test', 'fixtures', 'nvidia-smi')

async function fixture(name: string): Promise<string> {
  return readFile(join(fixtures, name), 'utf8')
}

function hardware(gpuCount: number, cpuCores: number): HardwareInfo {
  return {
    gpus: Array.from({ length: gpuCount }, (_, index) => ({
      index,
      name: 'NVIDIA H100 80GB HBM3',
      uuid: `GPU-${index}`,
      memoryTotalMiB: 81559,
      memoryUsedMiB: 0,
      utilizationPercent: 0
    })),
    cpuCores,
    memoryBytes: 2 ** 30,
    freeMemoryBytes: 2 ** 29
  }
}

describe('parseNvidiaSmiCsv', () => {
  it('reads a single H100', async () => {
    assert.deepEqual(parseNvidiaSmiCsv(await fixture('h100-1x.csv')), [
      {
        index: 0,
        name: 'NVIDIA H100 80GB HBM3',
        uuid: 'GPU-5f4c1e9a-3b2d-8c7e-1a2b-9d8e7f6a5b4c',
        memoryTotalMiB: 81559,
        memoryUsedMiB: 1,
        utilizationPercent: 0
      }
    ])
  })

  it('reads eight A100s in index order with their usage', async () => {
    const gpus = parseNvidiaSmiCsv(await fixture('a100-8x.csv'))
    assert.equal(gpus.length, 8)
    assert.deepEqual(
      gpus.map((g) => g.index),
      [0, 1, 2, 3, 4, 5, 6, 7]
    )
    assert.ok(gpus.every((g) => g.name === 'NVIDIA A100-SXM4-80GB' && g.memoryTotalMiB === 81920))
    assert.equal(new Set(gpus.map((g) => g.uuid)).size, 8)
    assert.deepEqual(gpus[6], {
      index: 6,
      name: 'NVIDIA A100-SXM4-80GB',
      uuid: 'GPU-6b8f2c7e-0d9a-5e4f-3a2b-1c0d9e8f7a66',
      memoryTotalMiB: 81920,
      memoryUsedMiB: 81001,
      utilizationPercent: 100
    })
  })

  it('reads "[N/A]" utilisation (MIG mode) as 0', async () => {
    const gpus = parseNvidiaSmiCsv(await fixture('a100-mig-na.csv'))
    assert.equal(gpus.length, 2)
    assert.equal(gpus[0]?.utilizationPercent, 0)
    assert.equal(gpus[0]?.memoryUsedMiB, 13)
    assert.equal(gpus[1]?.utilizationPercent, 41)
  })

  it('reads empty output as no GPUs', async () => {
    assert.deepEqual(parseNvidiaSmiCsv(await fixture('empty.csv')), [])
    assert.deepEqual(parseNvidiaSmiCsv('\n\n'), [])
    assert.deepEqual(parseNvidiaSmiCsv('No devices were found\n'), [])
  })

  it('reads other bracketed values as 0', () => {
    const [gpu] = parseNvidiaSmiCsv('0, Tesla K80, GPU-abc, 11441, [Unknown Error], [Not Supported]\n')
    assert.equal(gpu?.memoryUsedMiB, 0)
    assert.equal(gpu?.utilizationPercent, 0)
  })

  it('keeps a name with spaces or ", " whole and handles CRLF', () => {
    const gpus = parseNvidiaSmiCsv('3, Quadro RTX 8000, Rev. B, GPU-abc-def, 48601, 100, 7\r\n')
    assert.equal(gpus.length, 1)
    assert.equal(gpus[0]?.index, 3)
    assert.equal(gpus[0]?.name, 'Quadro RTX 8000, Rev. B')
    assert.equal(gpus[0]?.uuid, 'GPU-abc-def')
    assert.equal(gpus[0]?.utilizationPercent, 7)
  })

  it('throws NvidiaSmiParseError on garbage', async () => {
    const driverFailure = await fixture('driver-failure.txt')
    assert.throws(
      () =>
        parseNvidiaSmiCsv(
          `${'0, A, GPU-1, 1, 1, 1'}\nFailed to initialize NVML: Driver/library version mismatch\n`
        ),
      {
        name: 'NvidiaSmiParseError',
        line: 2
      }
    )
    assert.throws(() => parseNvidiaSmiCsv(driverFailure), NvidiaSmiParseError)
    assert.throws(() => parseNvidiaSmiCsv('x, NVIDIA H100, GPU-1, 81559, 0, 0'), NvidiaSmiParseError)
    assert.throws(() => parseNvidiaSmiCsv('0, NVIDIA H100, GPU-1, 80GB, 0, 0'), NvidiaSmiParseError)
    assert.throws(
      () =>
        parseNvidiaSmiCsv('index, name, uuid, memory.total [MiB], memory.used [MiB], utilization.gpu [%]'),
      NvidiaSmiParseError
    )
  })
})

describe('computeUnits', () => {
  it('uses the configured units when above 0', () => {
    assert.equal(computeUnits(hardware(8, 64), 7), 7)
  })

  it('gives 10 units per GPU when not configured', () => {
    assert.equal(computeUnits(hardware(8, 64), 0), 80)
    assert.equal(computeUnits(hardware(1, 64), 0), 10)
  })

  it('falls back to the CPU core count, at least 1', () => {
    assert.equal(computeUnits(hardware(0, 16), 0), 16)
    assert.equal(computeUnits(hardware(0, 0), 0), 1)
  })
})

describe('probeHardware', () => {
  it('asks nvidia-smi for the six fields as bare CSV and parses the answer', async () => {
    const calls: Array<{ file: string; args: readonly string[]; timeoutMs: number }> = []
    const exec: ExecFn = async (file, args, { timeoutMs }) => {
      calls.push({ file, args, timeoutMs })
      return { stdout: await fixture('h100-1x.csv') }
    }
    const hw = await probeHardware({ exec, nvidiaSmi: '/opt/nvidia/nvidia-smi', timeoutMs: 1234 })
    assert.deepEqual(calls, [
      {
        file: '/opt/nvidia/nvidia-smi',
        args: [
          '--query-gpu=index,name,uuid,memory.total,memory.used,utilization.gpu',
          '--format=csv,noheader,nounits'
        ],
        timeoutMs: 1234
      }
    ])
    assert.equal(hw.gpus.length, 1)
    assert.equal(hw.gpuProbeError, undefined)
  })

  it('reports the CPU and memory of this machine', async () => {
    const hw = await probeHardware({ exec: async () => ({ stdout: '' }) })
    assert.ok(Number.isInteger(hw.cpuCores) && hw.cpuCores >= 1)
    assert.ok(hw.memoryBytes > 0)
    assert.ok(hw.freeMemoryBytes > 0 && hw.freeMemoryBytes <= hw.memoryBytes)
    assert.deepEqual(hw.gpus, [])
    assert.equal(hw.gpuProbeError, undefined)
  })

  it('returns no GPUs and a reason when the exec fails or prints garbage', async () => {
    const failed = await probeHardware({
      exec: async () => {
        throw new Error('boom')
      }
    })
    assert.deepEqual(failed.gpus, [])
    assert.equal(failed.gpuProbeError, 'boom')

    const garbage = await probeHardware({ exec: async () => ({ stdout: 'hello world\n' }) })
    assert.deepEqual(garbage.gpus, [])
    assert.match(garbage.gpuProbeError ?? '', /line 1/)
  })

  it('returns no GPUs when the nvidia-smi command does not exist', async () => {
    const hw = await probeHardware({ nvidiaSmi: join(fixtures, 'no-such-nvidia-smi') })
    assert.deepEqual(hw.gpus, [])
    assert.match(hw.gpuProbeError ?? '', /not found/)
  })

  it('looks a bare command name up on PATH, and reports one that is on no PATH folder as not found', async () => {
    const path = process.env.PATH
    // the fake's own commands (dirname) stay reachable
    process.env.PATH = ['/nonexistent-folder', fixtures, path ?? ''].join(delimiter)
    try {
      const found = await probeHardware({ nvidiaSmi: 'fake-nvidia-smi.sh' })
      assert.equal(found.gpuProbeError, undefined)
      assert.equal(found.gpus.length, 8)
      const missing = await probeHardware({ nvidiaSmi: 'no-such-nvidia-smi' })
      assert.deepEqual(missing.gpus, [])
      assert.match(missing.gpuProbeError ?? '', /no-such-nvidia-smi not found/)
    } finally {
      process.env.PATH = path
    }
  })

  it('runs a real executable and parses what it prints', async () => {
    const hw = await probeHardware({ nvidiaSmi: join(fixtures, 'fake-nvidia-smi.sh') })
    assert.equal(hw.gpuProbeError, undefined)
    assert.equal(hw.gpus.length, 8)
    assert.equal(computeUnits(hw, 0), 80)
  })

  it('returns no GPUs when nvidia-smi exits with an error', async () => {
    const hw = await probeHardware({ nvidiaSmi: join(fixtures, 'failing-nvidia-smi.sh') })
    assert.deepEqual(hw.gpus, [])
    assert.match(hw.gpuProbeError ?? '', /exited with code 9/)
  })

  it('gives up at the timeout, even when a child of nvidia-smi holds its output open', async () => {
    // the fixture's child holds its output open for 30 s: a probe that waited for it would still be waiting
    const hw = await within(
      probeHardware({ nvidiaSmi: join(fixtures, 'hanging-nvidia-smi.sh'), timeoutMs: 300 }),
      20_000,
      'the probe to give up on a hung nvidia-smi'
    )
    assert.deepEqual(hw.gpus, [])
    assert.match(hw.gpuProbeError ?? '', /did not finish within 300 ms/)
  })
})
