/**
 * GPU detection and advertising on real hardware: the daemon's own probe runs this machine's nvidia-smi, and a
 * second daemon must list the first with exactly the GPUs nvidia-smi reported, and the units they give.
 *
 * Hardware-gated: on a machine where the probe finds no GPU (no nvidia-smi, or no device) the test is skipped and
 * says why. Everywhere else the probe's parsing and failure paths are unit-tested with recorded nvidia-smi output
 * (test/unit/probe.test.ts); this is the check that the real tool's output goes through them into a signed advert.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type HardwareInfo, probeHardware } from '../../src/capacity/probe.js'
import type { Daemon } from '../../src/daemon/daemon.js'
import { multiaddrOf, startTestNode, stopAll, waitFor } from '../helpers/network.js'

const hardware: HardwareInfo = await probeHardware()
const skip =
  hardware.gpus.length > 0
    ? false
    : `no GPU on this machine (${hardware.gpuProbeError ?? 'nvidia-smi found none'})`

describe('a GPU machine advertises the GPUs nvidia-smi reports', { skip }, () => {
  const daemons: Daemon[] = []

  before(async () => {
    // The daemon's default probe: the real nvidia-smi, as in production
    const withGpus = await startTestNode({ daemon: { probe: () => probeHardware() } })
    daemons.push(withGpus)
    daemons.push(await startTestNode({ overrides: { net: { bootstrap: [multiaddrOf(withGpus)] } } }))
  })

  after(async () => stopAll(daemons))

  it("lists the GPU peer with each GPU's index, name and memory, and 10 units per GPU", async () => {
    const [withGpus, observer] = daemons as [Daemon, Daemon]
    const id = withGpus.node.peerId.toString()
    await waitFor(
      () => observer.capacity.peers.get(id) !== undefined,
      'the observer to list the GPU peer',
      20_000
    )
    const entry = observer.capacity.peers.get(id)
    assert.ok(entry)
    const advertised = entry.advert.gpus.map(({ index, name, memoryTotalMib }) => ({
      index,
      name,
      memoryTotalMib
    }))
    const probed = hardware.gpus.map(({ index, name, memoryTotalMiB }) => ({
      index,
      name,
      memoryTotalMib: memoryTotalMiB
    }))
    assert.deepEqual(advertised, probed)
    assert.equal(entry.advert.unitsTotal, 10 * hardware.gpus.length)
    for (const gpu of entry.advert.gpus) {
      assert.ok(gpu.memoryUsedMib <= gpu.memoryTotalMib, `GPU ${gpu.index}: used ≤ total`)
      assert.ok(gpu.utilizationPercent >= 0 && gpu.utilizationPercent <= 100, `GPU ${gpu.index}: utilisation`)
    }
    process.stderr.write(
      `gpu advert: ${entry.advert.gpus.map((gpu) => `${gpu.index}: ${gpu.name}, ${gpu.memoryTotalMib} MiB`).join('; ')}\n`
    )
  })
})
