import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import type { JobRecord } from '../../src/jobs-model/types.js'
import { type LocalNode, LocalNetwork } from '../../src/testnet/local-network.js'
import { proofmesh } from '../helpers/cli.js'
import { api } from '../helpers/api.js'

/**
 * The operator's page (/ui) in a real browser: Debian's headless Chromium, driven by playwright-core, loads it
 * from a daemon of a 3-process testnet and the test reads what it shows. Nothing is installed at test time:
 * without /usr/bin/chromium (`apt-get install chromium`) the suite is skipped. The screenshot taken while the
 * job runs goes to UI_SCREENSHOT when set (README's docs/ui.png is made so), else to the scratch dir.
 */
const CHROMIUM = '/usr/bin/chromium'
const SKIP = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing: install Debian's chromium package to run the browser test`
const UNITS_EACH = 2
const INPUT_BYTES = 2 * 1024 * 1024
const ACTIVE_STATES = ['reserving', 'planning', 'contributing', 'proving', 'aggregating', 'verifying']

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 100
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((done) => setTimeout(done, everyMs))
  }
}

function text(page: Page, testid: string): Promise<string> {
  return page.getByTestId(testid).first().innerText()
}

describe('the operator page in headless Chromium', { skip: SKIP }, () => {
  let root: string
  let network: LocalNetwork
  let nodes: LocalNode[]
  let browser: BrowserContext | undefined

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'proofmesh-ui-'))
    network = new LocalNetwork({
      nodes: 3,
      root,
      advertInterval: '1s',
      nodeArgs: () => ['--compute-units', String(UNITS_EACH)]
    })
    await network.start()
    await network.converge()
    nodes = network.nodes
    browser = await chromium.launchPersistentContext(join(root, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ],
      viewport: { width: 1280, height: 800 },
      timeout: 60_000
    })
  })

  after(async () => {
    await browser?.close()
    await network?.stop()
    await network?.remove()
  })

  it('serves the page without the token, and nothing in it but its own files', async () => {
    const node = nodes[0]!
    const shell = await fetch(new URL('/ui', node.api.url))
    assert.equal(shell.status, 200)
    assert.match(shell.headers.get('content-type') ?? '', /^text\/html/)
    assert.match(shell.headers.get('content-security-policy') ?? '', /script-src 'self'/)
    const html = await shell.text()
    assert.match(html, /data-testid="peers-table"/)
    assert.ok(!html.includes(node.status.peerId), 'the shell holds no data')
    assert.ok(!html.includes(node.token))
    for (const asset of ['/ui/app.js', '/ui/style.css']) {
      assert.equal((await fetch(new URL(asset, node.api.url))).status, 200, asset)
    }
    for (const path of ['/ui/%2e%2e/api.token', '/ui/index.htm', '/ui/tsconfig.json']) {
      assert.equal((await fetch(new URL(path, node.api.url))).status, 404, path)
    }
    assert.equal((await fetch(new URL('/v1/status', node.api.url))).status, 401, 'the API still needs it')
  })

  it('asks for the token when the address has none, and says when it is wrong', async () => {
    const node = nodes[0]!
    const page = await browser!.newPage()
    try {
      await page.goto(new URL('/ui', node.api.url).toString())
      const form = page.getByTestId('token-form')
      await form.waitFor({ state: 'visible' })
      assert.equal(await page.getByTestId('peers-table').isVisible(), false)
      await page.locator('#token-input').fill('not-the-token')
      await page.locator('#token-input').press('Enter')
      await page.getByTestId('token-error').waitFor({ state: 'visible' })
      assert.match(await text(page, 'token-error'), /refused/)
      await page.locator('#token-input').fill(node.token)
      await page.locator('#token-input').press('Enter')
      await page.getByTestId('peers-table').waitFor({ state: 'visible' })
      await until('the header', async () =>
        (await text(page, 'node-peer-id')) === node.status.peerId ? true : undefined
      )
      assert.equal(await form.isVisible(), false)
    } finally {
      await page.close()
    }
  })

  it('exports GPUs and the compute units of the whole network as metrics', async () => {
    const response = await fetch(new URL('/metrics', nodes[0]!.api.url), {
      headers: { authorization: `Bearer ${nodes[0]!.token}` }
    })
    const metrics = await response.text()
    assert.match(metrics, /^proofmesh_gpus\{kind="total"\} 0$/m)
    assert.match(metrics, /^proofmesh_gpus\{kind="idle"\} 0$/m)
    assert.match(
      metrics,
      new RegExp(`^proofmesh_network_compute_units\\{kind="total"\\} ${3 * UNITS_EACH}$`, 'm')
    )
    assert.match(metrics, /^proofmesh_network_gpus\{kind="total"\} 0$/m)
  })

  it('shows the peer table, the job and its live view, segments per peer, until it succeeds', async () => {
    const [node, ...others] = nodes as [LocalNode, ...LocalNode[]]
    const printed = await proofmesh(['ui', '--data-dir', node.dataDir, '--show-token'])
    assert.equal(printed.code, 0, printed.stderr)
    const address = printed.stdout.trim()
    assert.equal(address, `${node.api.url}/ui#token=${node.token}`)

    const input = join(root, 'ui-input.bin')
    await writeFile(input, randomBytes(INPUT_BYTES))
    const submitted = await api<JobRecord>(node, '/v1/jobs', {
      inputMode: 'data',
      input,
      computeCapacity: 3 * UNITS_EACH,
      dataId: 'ui-test-block'
    })

    const page = await browser!.newPage()
    const requests: Array<{ url: string; authorization: string | undefined }> = []
    page.on('request', (request) => {
      void request.allHeaders().then(
        (headers) => requests.push({ url: request.url(), authorization: headers.authorization }),
        () => requests.push({ url: request.url(), authorization: undefined })
      )
    })
    const problems: string[] = []
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`)
    })
    try {
      await page.goto(address)
      assert.ok(!page.url().includes('token'), 'the token leaves the address bar')

      // the header and the peer table: the two other daemons, with their units
      await until('the header', async () =>
        (await text(page, 'node-peer-id')) === node.status.peerId ? true : undefined
      )
      assert.match(await text(page, 'node-units'), new RegExp(`^\\d+ / ${UNITS_EACH}$`))
      const peerRows = page.getByTestId('peer-row')
      await until('two peer rows', async () => ((await peerRows.count()) === 2 ? true : undefined))
      const listed = await Promise.all((await peerRows.all()).map((row) => row.getAttribute('data-peer-id')))
      assert.deepEqual(listed.sort(), others.map((other) => other.status.peerId).sort())
      for (const row of await peerRows.all()) {
        assert.match(await row.getByTestId('peer-units').innerText(), new RegExp(`^\\d+ / ${UNITS_EACH}$`))
        assert.equal(await row.getByTestId('peer-gpus').innerText(), 'none')
        assert.match(await row.getByTestId('peer-prover').innerText(), /proofmesh-prover/)
      }

      // the jobs table lists the job, and the live view follows it, the running job, by itself
      const jobRow = page.locator(`[data-testid="job-row"][data-job-id="${submitted.id}"]`)
      await until('the job in the jobs table', async () => ((await jobRow.count()) === 1 ? true : undefined))
      const view = page.getByTestId('job-view')
      await until('the live view of the job', async () =>
        (await view.getAttribute('data-job-id')) === submitted.id ? true : undefined
      )

      // while it runs: segments on their peers with progress bars. The screenshot is taken at the first such
      // moment, and again, better, once some segments are proved while others still show their proving progress
      const screenshot = resolve(process.env.UI_SCREENSHOT ?? join(root, 'ui.png'))
      await mkdir(dirname(screenshot), { recursive: true })
      const seen = new Set<string>()
      const proving = page.locator('[data-testid="segment-progress"][title^="prove"]')
      const proved = page.locator('[data-testid="job-segment"][data-state="proved"]')
      await until(
        'the job to run with segments and progress on its peers',
        async () => {
          const state = await text(page, 'job-view-state')
          if (!ACTIVE_STATES.includes(state)) return state === 'succeeded' ? state : undefined
          if ((await page.getByTestId('segment-progress').count()) === 0) return undefined
          seen.add(state)
          if (!seen.has('screenshot')) {
            await page.screenshot({ path: screenshot })
            seen.add('screenshot')
          }
          if (state !== 'proving' || (await proving.count()) === 0 || (await proved.count()) === 0)
            return undefined
          await page.screenshot({ path: screenshot })
          return state
        },
        120_000,
        50
      )
      assert.ok(seen.has('screenshot'), 'the page showed the job with its progress while it ran')
      assert.ok((await stat(screenshot)).size > 10_000, 'a screenshot of the page')

      // the end: succeeded, with an aggregator, every segment proved on the peer the submitter records
      await until(
        'the live view to say succeeded',
        async () => ((await text(page, 'job-view-state')) === 'succeeded' ? true : undefined),
        180_000
      )
      const job = await api<JobRecord>(node, `/v1/jobs/${submitted.id}`)
      assert.equal(job.state, 'succeeded')
      assert.ok(job.aggregator !== undefined)
      await until('the record after the end to be drawn', async () =>
        (await page.getByTestId('job-aggregator').getAttribute('title')) === job.aggregator &&
        (await page.getByTestId('job-phase').count()) === 7
          ? true
          : undefined
      )
      const peerRowsOfJob = page.getByTestId('job-peer')
      assert.equal(await peerRowsOfJob.count(), job.peers.length)
      assert.equal(job.peers.length, 3)
      for (const row of await peerRowsOfJob.all()) {
        const peerId = await row.getAttribute('data-peer-id')
        const shown = await Promise.all(
          (await row.getByTestId('job-segment').all()).map(async (segment) => ({
            index: Number(await segment.getAttribute('data-segment')),
            state: await segment.getAttribute('data-state')
          }))
        )
        const expected = job.segments.filter((segment) => segment.peerId === peerId)
        assert.deepEqual(
          shown.map((segment) => segment.index).sort((a, b) => a - b),
          expected.map((segment) => segment.index).sort((a, b) => a - b),
          `segments of ${peerId}`
        )
        assert.ok(shown.length > 0, `peer ${peerId} proved segments`)
        assert.ok(shown.every((segment) => segment.state === 'proved'))
        const aggregates = await row.getByTestId('job-peer-aggregator').count()
        assert.equal(aggregates, peerId === job.aggregator ? 1 : 0)
      }
      assert.equal(await page.getByTestId('job-error').isVisible(), false)
      assert.match(await text(page, 'job-stream'), /ended/)
      const finished = page.locator(
        `[data-testid="job-row"][data-job-id="${submitted.id}"] [data-testid="job-state"]`
      )
      await until('the jobs table to say succeeded', async () =>
        (await finished.innerText()) === 'succeeded' ? true : undefined
      )

      // the token went in headers only, never in a request line
      assert.ok(requests.length > 0)
      for (const request of requests) {
        assert.ok(!request.url.includes(node.token), `no token in ${request.url}`)
        if (new URL(request.url).pathname.startsWith('/v1/')) {
          assert.equal(request.authorization, `Bearer ${node.token}`, request.url)
        }
      }
      assert.ok(requests.some((request) => request.url.endsWith(`/v1/jobs/${submitted.id}/events`)))
      assert.deepEqual(problems, [])
    } finally {
      await page.close()
    }
  })
  it('says why peers failed, lists job errors, and clears progress once a job is cancelled', async () => {
    const [node, ...others] = nodes as [LocalNode, ...LocalNode[]]
    for (const each of nodes) await mkdir(join(each.dataDir, 'inputs'), { recursive: true })
    // a path-mode job whose file only the submitter has: the two others fail, the submitter proves it all
    await writeFile(join(node.dataDir, 'inputs', 'ui-only.bin'), randomBytes(200_000))
    const lonely = await api<JobRecord>(node, '/v1/jobs', {
      inputMode: 'path',
      input: 'ui-only.bin',
      computeCapacity: 3 * UNITS_EACH
    })
    const page = await browser!.newPage()
    const problems: string[] = []
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    try {
      await page.goto(`${node.api.url}/ui#token=${node.token}`)
      const lonelyRow = page.locator(`[data-testid="job-row"][data-job-id="${lonely.id}"]`)
      await until(
        'the jobs table to say the job succeeded, and that two peers failed',
        async () => {
          if ((await lonelyRow.count()) === 0) return undefined
          if ((await lonelyRow.getAttribute('data-state')) !== 'succeeded') return undefined
          const error = await lonelyRow.getByTestId('job-row-error').innerText()
          return /^2 of 3 peers failed$/.test(error) ? error : undefined
        },
        180_000
      )
      await lonelyRow.click()
      const reasons = page.getByTestId('job-peer-failure')
      await until('the reason of each failed peer', async () =>
        (await reasons.count()) === 2 ? true : undefined
      )
      for (const reason of await reasons.all()) {
        const text = await reason.innerText()
        assert.match(
          text,
          /^INPUT( \(segment \d+\))?: input "ui-only\.bin" does not exist in the inputs folder$/
        )
        for (const other of others) assert.ok(!text.includes(other.dataDir), text)
      }

      // a job cancelled while it proves: its bars go, its row says why it ended
      const input = join(root, 'ui-cancel.bin')
      await writeFile(input, randomBytes(4 * INPUT_BYTES))
      const doomed = await api<JobRecord>(node, '/v1/jobs', {
        inputMode: 'data',
        input,
        computeCapacity: 3 * UNITS_EACH
      })
      const doomedRow = page.locator(`[data-testid="job-row"][data-job-id="${doomed.id}"]`)
      await until('the job in the jobs table', async () =>
        (await doomedRow.count()) === 1 ? true : undefined
      )
      await doomedRow.click()
      const view = page.getByTestId('job-view')
      await until('the view of the job', async () =>
        (await view.getAttribute('data-job-id')) === doomed.id ? true : undefined
      )
      const bars = page.getByTestId('segment-progress')
      await until(
        'progress bars on its segments',
        async () => ((await bars.count()) > 0 ? true : undefined),
        180_000,
        50
      )
      await until('the bytes sent to move while the job runs', async () => {
        const state = await text(page, 'job-view-state')
        if (!ACTIVE_STATES.includes(state)) throw new Error(`the job ended (${state}) with no byte counted`)
        return (await text(page, 'job-bytes')) === '0 B' ? undefined : true
      })
      const cancelled = await proofmesh(['cancel', doomed.id, '--data-dir', node.dataDir])
      assert.equal(cancelled.code, 0, cancelled.stderr)
      await until('the view to say cancelled', async () =>
        (await text(page, 'job-view-state')) === 'cancelled' ? true : undefined
      )
      await until('the progress bars to go', async () => ((await bars.count()) === 0 ? true : undefined))
      await until('the jobs table to show why it ended', async () => {
        const error = await doomedRow.getByTestId('job-row-error').innerText()
        return /^CANCELLED: /.test(error) ? error : undefined
      })
      assert.deepEqual(problems, [])
    } finally {
      await page.close()
    }
  })
})
