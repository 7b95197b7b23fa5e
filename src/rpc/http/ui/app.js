// The operator's page of a proofmesh daemon: plain ES, no build step, nothing from another origin. The JSDoc
// types are checked (tsconfig.json beside this file, which `eslint .` uses), so the page is typed like the rest.
// The page itself carries no data. The API token comes from the URL fragment (`/ui#token=…`, which the browser
// never sends to the server) or from the form, and goes only into the Authorization header of the JSON API
// calls. A job's live view reads GET /v1/jobs/:id/events with fetch() streaming, since EventSource cannot send
// a bearer header.

/* eslint no-undef: "off" -- checkJs resolves every name, the DOM's included */

/** @import { JobEvent, JobPeerRecord, JobRecord, SegmentRecord } from '../../../jobs-model/types.js' */

// What the CLI shows the same way, from the one definition: the server serves these modules of src/jobs-model/
// as tsc compiled them (tsconfig.json beside this file maps ./jobs-model/ there for the type check)
import { describePeerFailure } from './jobs-model/peer-failure.js'
import { shortPeerId } from './jobs-model/peer-id.js'
import { isTerminal, JOB_PHASES } from './jobs-model/states.js'

/**
 * What the page reads of GET /v1/status and GET /v1/peers (StatusJson, PeerRow and CapacityJson on the daemon)
 * @typedef {{ name: string, memoryTotalMiB: number, memoryUsedMiB: number, utilizationPercent: number }} Gpu
 * @typedef {object} Capacity
 * @property {number} unitsTotal
 * @property {number} unitsFree
 * @property {Gpu[]} gpus
 * @property {{ name: string, version: string } | null} prover
 * @property {string[]} programs
 * @typedef {object} Status
 * @property {string} version
 * @property {string} peerId
 * @property {number} uptimeMs
 * @property {string[]} addrs
 * @property {Capacity | null} capacity
 * @property {number} connectedPeers
 * @property {number} knownPeers
 * @typedef {{ peerId: string, connected: boolean, address: string | null, ageMs: number, capacity: Capacity }} Peer
 */

/**
 * The job shown: its record (reloaded when an event says it changed, and taken from the jobs list when that one
 * is newer), and the latest progress of each segment and of the aggregation, with when that step began
 * @typedef {{ phase: string, done: number, total: number, peer: string | undefined, since: number }} Progress
 * @typedef {object} JobView
 * @property {string} id
 * @property {JobRecord | undefined} record
 * @property {number} lastSeq
 * @property {Map<number, Progress>} progress
 * @property {Progress | undefined} aggregateProgress
 * @property {boolean} terminal
 * @property {string} streamState
 * @property {AbortController} controller
 * @property {ReturnType<typeof setTimeout> | undefined} reloadTimer
 * @property {boolean} drawPending
 */

const REFRESH_MS = 2_000
/** The daemon sends an SSE comment every 15 s: this long without a byte means a dead connection */
const STREAM_IDLE_MS = 45_000
const MAX_JOB_ROWS = 50
/** Columns of the jobs table */
const JOB_COLUMNS = 8
const MAX_EVENT_ROWS = 200
const TOKEN_KEY = 'proofmesh-token'

class Unauthorised extends Error {
  constructor() {
    super('the daemon refused the token')
    this.name = 'Unauthorised'
  }
}

class HttpError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message)
    this.name = 'HttpError'
    this.status = status
  }
}

/**
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @returns {T}
 */
function $(id) {
  const element = document.getElementById(id)
  if (element === null) throw new Error(`the page has no #${id}`)
  return /** @type {T} */ (element)
}

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function byTestId(id) {
  const element = document.querySelector(`[data-testid="${id}"]`)
  if (!(element instanceof HTMLElement)) throw new Error(`the page has no [data-testid="${id}"]`)
  return element
}

/** @param {unknown} err */
function messageOf(err) {
  return err instanceof Error ? err.message : String(err)
}

// --- token ------------------------------------------------------------------------------------------------

/** @type {string | undefined} */
let token = takeToken()

/** The fragment's token, once: it is kept for this tab only and removed from the address bar */
function takeToken() {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get('token')
  if (fromFragment !== null && fromFragment !== '') {
    sessionStorage.setItem(TOKEN_KEY, fromFragment)
    history.replaceState(null, '', location.pathname + location.search)
    return fromFragment
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined
}

/** @param {string} [why] */
function askToken(why) {
  token = undefined
  sessionStorage.removeItem(TOKEN_KEY)
  stopEverything()
  $('main').hidden = true
  $('token-form').hidden = false
  const error = byTestId('token-error')
  error.hidden = why === undefined
  error.textContent = why ?? ''
  setConnection('no token', true)
  $('token-input').focus()
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault()
  /** @type {HTMLInputElement} */
  const input = $('token-input')
  const value = input.value.trim()
  if (value === '') return
  token = value
  sessionStorage.setItem(TOKEN_KEY, value)
  input.value = ''
  startEverything()
})

// --- API --------------------------------------------------------------------------------------------------

/** A request to the daemon's API that takes longer fails, and says so */
const API_TIMEOUT_MS = 10_000

/**
 * @param {string} path
 * @param {AbortSignal} [signal]
 * @returns {Promise<unknown>}
 */
async function api(path, signal) {
  const response = await fetch(path, {
    headers: { authorization: `Bearer ${token ?? ''}`, accept: 'application/json' },
    cache: 'no-store',
    signal: signal ?? AbortSignal.timeout(API_TIMEOUT_MS)
  }).catch((/** @type {unknown} */ err) => {
    // the browser's own words ("signal timed out") name neither the request nor the limit
    if (err instanceof Error && err.name === 'TimeoutError')
      throw new Error(`GET ${path} got no answer within ${API_TIMEOUT_MS / 1000} s`)
    throw err
  })
  if (response.status === 401) throw new Unauthorised()
  if (!response.ok) {
    /** @type {unknown} */
    const body = await response.json().catch(() => undefined)
    const error =
      typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'string'
        ? body.error
        : `${path}: HTTP ${response.status}`
    throw new HttpError(response.status, error)
  }
  /** @type {unknown} */
  const body = await response.json()
  return body
}

const getStatus = async () => /** @type {Status} */ (await api('/v1/status'))
const getPeers = async () => /** @type {Peer[]} */ (await api('/v1/peers'))
const getJobs = async () => /** @type {JobRecord[]} */ (await api('/v1/jobs'))
/**
 * @param {string} id
 * @param {AbortSignal} signal
 */
const getJob = async (id, signal) =>
  /** @type {JobRecord} */ (await api(`/v1/jobs/${encodeURIComponent(id)}`, signal))

// --- formatting -------------------------------------------------------------------------------------------

/** @typedef {Node | string | number | null | undefined | false} Child */

/**
 * An element with text and child nodes only (never HTML from the daemon: peers choose what they advertise)
 * @param {string} tag
 * @param {Record<string, string | number | boolean | Record<string, string> | null | undefined>} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
function h(tag, props = {}, ...children) {
  const element = document.createElement(tag)
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue
    if (typeof value === 'object') {
      if (key === 'data') Object.assign(element.dataset, value)
    } else if (key === 'testid') element.dataset.testid = String(value)
    else if (key === 'class') element.className = String(value)
    else element.setAttribute(key, String(value))
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue
    element.append(child instanceof Node ? child : String(child))
  }
  return element
}

/** @param {number} ms */
function formatDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '–'
  if (ms < 1_000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`
  const pad = (/** @type {number} */ value) => String(value).padStart(2, '0')
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${pad(Math.floor(ms / 1_000) % 60)} s`
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)} h ${pad(Math.floor(ms / 60_000) % 60)} min`
  return `${Math.floor(ms / 86_400_000)} d ${Math.floor(ms / 3_600_000) % 24} h`
}

/** @param {number} bytes */
function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return '–'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit] ?? ''}`
}

/**
 * @param {string} state
 * @param {string} [testid]
 */
function stateBadge(state, testid) {
  return h('span', { class: `state state-${state}`, testid }, state)
}

/**
 * @param {string} text
 * @param {boolean} [bad]
 */
function setConnection(text, bad = false) {
  const element = byTestId('connection')
  element.textContent = text
  element.classList.toggle('bad', bad)
}

// --- header, peers, jobs ----------------------------------------------------------------------------------

/** @type {string | undefined} */
let selfId
/** @type {ReturnType<typeof setTimeout> | undefined} */
let refreshTimer
let refreshing = false
/** A job the operator clicked; until then the view follows the newest running job */
/** @type {string | undefined} */
let chosenId
/** @type {JobView | undefined} */
let view

/** @param {Status} status */
function renderStatus(status) {
  selfId = status.peerId
  const peerId = byTestId('node-peer-id')
  peerId.textContent = status.peerId
  peerId.title = status.addrs.join('\n')
  byTestId('node-version').textContent = status.version
  byTestId('node-uptime').textContent = formatDuration(status.uptimeMs)
  const capacity = status.capacity
  byTestId('node-units').textContent =
    capacity === null ? '–' : `${capacity.unitsFree} / ${capacity.unitsTotal}`
  byTestId('node-connected').textContent = `${status.connectedPeers} peers (${status.knownPeers} advertising)`
}

/** @param {Gpu[]} gpus */
function gpuText(gpus) {
  if (gpus.length === 0) return 'none'
  const mib = 1024 * 1024
  return gpus
    .map(
      (gpu) =>
        `${gpu.name} ${gpu.utilizationPercent}% · ${formatBytes(gpu.memoryUsedMiB * mib)} / ${formatBytes(gpu.memoryTotalMiB * mib)}`
    )
    .join('\n')
}

/** @param {Peer[]} peers */
function renderPeers(peers) {
  const rows = [...peers]
    .sort((a, b) => a.peerId.localeCompare(b.peerId))
    .map((peer) => {
      const capacity = peer.capacity
      return h(
        'tr',
        { testid: 'peer-row', data: { peerId: peer.peerId } },
        h(
          'td',
          { title: peer.peerId },
          h('span', {
            class: peer.connected ? 'dot on' : 'dot',
            title: peer.connected ? 'connected' : 'not connected'
          }),
          h('code', {}, shortPeerId(peer.peerId))
        ),
        h('td', { class: 'address' }, h('code', {}, peer.address ?? '–')),
        h('td', { class: 'num', testid: 'peer-units' }, `${capacity.unitsFree} / ${capacity.unitsTotal}`),
        h('td', { testid: 'peer-gpus', class: 'gpus' }, gpuText(capacity.gpus)),
        h(
          'td',
          { testid: 'peer-prover', title: capacity.programs.join(', ') },
          capacity.prover === null
            ? 'none'
            : `${capacity.prover.name} ${capacity.prover.version}${capacity.prover.backend === 'cli' ? ' (cli: whole jobs)' : ''}`
        ),
        h('td', { class: 'num' }, `${formatDuration(peer.ageMs)} ago`)
      )
    })
  if (rows.length === 0) rows.push(emptyRow(6, 'no peer has advertised yet'))
  $('peers-body').replaceChildren(...rows)
  byTestId('peers-count').textContent = `(${peers.length})`
}

/**
 * @param {number} columns
 * @param {string} text
 */
function emptyRow(columns, text) {
  return h('tr', {}, h('td', { colspan: columns, class: 'empty' }, text))
}

/**
 * What went wrong with a job, for the jobs table: its error, or else the peers that failed while it went on
 * @param {JobRecord} job
 * @returns {{ text: string, warn: boolean } | undefined}
 */
function jobTrouble(job) {
  if (job.error !== undefined) return { text: `${job.error.code}: ${job.error.message}`, warn: false }
  const failed = job.peers.filter((peer) => peer.state === 'failed')
  if (failed.length === 0) return undefined
  const [first] = failed
  const reason = first?.failure === undefined ? '' : `: ${describePeerFailure(first.failure)}`
  return {
    text: `${failed.length} of ${job.peers.length} peers failed${failed.length === 1 ? reason : ''}`,
    warn: true
  }
}

/** @param {JobRecord[]} jobs */
function renderJobs(jobs) {
  const now = Date.now()
  const rows = jobs.slice(0, MAX_JOB_ROWS).map((job) => {
    const proved = job.segments.filter((segment) => segment.state === 'proved').length
    const trouble = jobTrouble(job)
    return h(
      'tr',
      {
        testid: 'job-row',
        data: { jobId: job.id, state: job.state },
        tabindex: 0,
        class: job.id === view?.id ? 'selected' : undefined
      },
      h('td', { title: job.id }, h('code', {}, job.id)),
      h('td', {}, stateBadge(job.state, 'job-state')),
      h('td', { title: job.request.input }, job.request.dataId),
      h('td', { class: 'num' }, job.request.computeCapacity),
      h('td', { class: 'num' }, job.peers.length),
      h('td', { class: 'num' }, job.segments.length === 0 ? '–' : `${proved} / ${job.segments.length}`),
      h('td', { class: 'num' }, formatDuration(now - job.createdAt)),
      h(
        'td',
        { class: trouble?.warn === true ? 'job-error warn' : 'job-error', testid: 'job-row-error' },
        trouble?.text ?? ''
      )
    )
  })
  if (rows.length === 0) rows.push(emptyRow(JOB_COLUMNS, 'no job submitted to this daemon yet'))
  $('jobs-body').replaceChildren(...rows)
  byTestId('jobs-count').textContent =
    jobs.length > MAX_JOB_ROWS ? `(${MAX_JOB_ROWS} newest of ${jobs.length})` : `(${jobs.length})`
}

/** @param {EventTarget | null} target */
function openJobFromRow(target) {
  const row = target instanceof Element ? target.closest('tr[data-job-id]') : null
  if (!(row instanceof HTMLElement) || row.dataset.jobId === undefined) return
  chosenId = row.dataset.jobId
  openJob(chosenId)
  for (const other of $('jobs-body').children) other.classList.toggle('selected', other === row)
}

$('jobs-body').addEventListener('click', (event) => openJobFromRow(event.target))
$('jobs-body').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault()
    openJobFromRow(event.target)
  }
})

/**
 * The jobs list holds whole records: the one of the job on view, if newer than the view's, replaces it (the bytes
 * sent to each peer move while slices stream, and no event says so)
 * @param {JobRecord[]} jobs
 */
function takeNewerRecord(jobs) {
  const current = view
  if (current?.record === undefined) return
  const listed = jobs.find((job) => job.id === current.id)
  if (listed === undefined || listed.updatedAt <= current.record.updatedAt) return
  current.record = listed
  draw(current)
}

/**
 * Until the operator clicks a job, the view shows the newest running one (and stays on a job that ended
 * until another one runs), or else the newest job
 * @param {JobRecord[]} jobs
 */
function followJob(jobs) {
  if (chosenId !== undefined) return
  const running = jobs.find((job) => !isTerminal(job.state))
  if (running !== undefined && (view === undefined || view.terminal)) openJob(running.id)
  else if (running === undefined && view === undefined && jobs[0] !== undefined) openJob(jobs[0].id)
}

async function refresh() {
  if (refreshing || token === undefined) return
  refreshing = true
  try {
    const [status, peers] = await Promise.all([getStatus(), getPeers()])
    renderStatus(status)
    renderPeers(peers)
    try {
      const jobs = await getJobs()
      renderJobs(jobs)
      followJob(jobs)
      takeNewerRecord(jobs)
    } catch (err) {
      // 503: this daemon runs no job service
      if (!(err instanceof HttpError)) throw err
      $('jobs-body').replaceChildren(emptyRow(JOB_COLUMNS, err.message))
    }
    setConnection(`live · ${new Date().toLocaleTimeString()}`)
  } catch (err) {
    if (err instanceof Unauthorised) askToken('the daemon refused this token')
    else setConnection(`daemon unreachable: ${messageOf(err)}`, true)
  } finally {
    refreshing = false
  }
}

function startEverything() {
  stopEverything()
  $('token-form').hidden = true
  $('main').hidden = false
  const tick = () => {
    void refresh().finally(() => {
      if (token !== undefined) refreshTimer = setTimeout(tick, REFRESH_MS)
    })
  }
  tick()
}

function stopEverything() {
  clearTimeout(refreshTimer)
  refreshTimer = undefined
  closeView()
}

// --- the live view of one job -----------------------------------------------------------------------------

/** @param {string} id */
function openJob(id) {
  if (view?.id === id) return
  closeView()
  /** @type {JobView} */
  const current = {
    id,
    record: undefined,
    lastSeq: 0,
    progress: new Map(),
    aggregateProgress: undefined,
    terminal: false,
    streamState: 'connecting',
    controller: new AbortController(),
    reloadTimer: undefined,
    drawPending: false
  }
  view = current
  $('job-view').hidden = false
  $('job-events').replaceChildren()
  reloadRecord(current)
  streamEvents(current).catch((err) => {
    if (!current.controller.signal.aborted) setStream(current, `stopped: ${messageOf(err)}`)
  })
}

function closeView() {
  if (view === undefined) return
  view.controller.abort()
  clearTimeout(view.reloadTimer)
  view = undefined
}

/** @param {JobView} current */
function reloadRecord(current) {
  getJob(current.id, current.controller.signal)
    .then((record) => {
      if (view !== current) return
      current.record = record
      if (isTerminal(record.state)) current.terminal = true
      draw(current)
    })
    .catch((err) => {
      if (current.controller.signal.aborted) return
      if (err instanceof Unauthorised) askToken('the daemon refused this token')
      else setStream(current, `cannot load the job: ${messageOf(err)}`)
    })
}

/**
 * Many events come at once (a phase ends on every peer): one reload for them all
 * @param {JobView} current
 */
function reloadSoon(current) {
  if (current.reloadTimer !== undefined) return
  current.reloadTimer = setTimeout(() => {
    current.reloadTimer = undefined
    reloadRecord(current)
  }, 250)
}

/**
 * @param {JobView} current
 * @param {string} text
 */
function setStream(current, text) {
  current.streamState = text
  if (view === current) byTestId('job-stream').textContent = text
}

/**
 * The server-sent events wire format: fields per line, a blank line ends an event; only `data` matters here
 * (each event's JSON carries its own seq and type)
 * @returns {(text: string) => string[]}
 */
function sseParser() {
  let buffer = ''
  /** @type {string[]} */
  let data = []
  return (text) => {
    buffer += text
    /** @type {string[]} */
    const messages = []
    const lines = buffer.split(/\r\n|\r|\n/)
    // the last piece is an unfinished line (or '' after a line break); a CR alone at the end waits for its LF
    buffer = lines.pop() ?? ''
    for (const line of lines) {
      if (line === '') {
        if (data.length > 0) messages.push(data.join('\n'))
        data = []
      } else if (line.startsWith('data:')) {
        data.push(line.slice(line.startsWith('data: ') ? 6 : 5))
      }
    }
    return messages
  }
}

/**
 * GET /v1/jobs/:id/events, resumed from the last event seen (Last-Event-ID) until the job is over
 * @param {JobView} current
 */
async function streamEvents(current) {
  const path = `/v1/jobs/${encodeURIComponent(current.id)}/events`
  let failures = 0
  while (!current.controller.signal.aborted) {
    const idle = new AbortController()
    let idleTimer = setTimeout(() => idle.abort(), STREAM_IDLE_MS)
    try {
      const response = await fetch(path, {
        headers: {
          authorization: `Bearer ${token ?? ''}`,
          accept: 'text/event-stream',
          ...(current.lastSeq > 0 ? { 'last-event-id': String(current.lastSeq) } : {})
        },
        cache: 'no-store',
        signal: AbortSignal.any([current.controller.signal, idle.signal])
      })
      if (response.status === 401) throw new Unauthorised()
      if (!response.ok || response.body === null)
        throw new HttpError(response.status, `HTTP ${response.status}`)
      setStream(current, 'live')
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      const parse = sseParser()
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        clearTimeout(idleTimer)
        idleTimer = setTimeout(() => idle.abort(), STREAM_IDLE_MS)
        for (const data of parse(value)) {
          /** @type {unknown} */
          const event = JSON.parse(data)
          onEvent(current, /** @type {JobEvent} */ (event))
          failures = 0
        }
      }
      // The daemon ends the stream once the job is over
      if (current.terminal) {
        setStream(current, 'ended')
        reloadRecord(current)
        return
      }
    } catch (err) {
      if (current.controller.signal.aborted) return
      if (err instanceof Unauthorised) {
        askToken('the daemon refused this token')
        return
      }
      if (err instanceof HttpError && err.status === 404) {
        setStream(current, 'no such job')
        return
      }
    } finally {
      clearTimeout(idleTimer)
    }
    failures++
    const wait = Math.min(10_000, 250 * 2 ** failures)
    setStream(current, `reconnecting in ${formatDuration(wait)}`)
    await new Promise((resolve) => setTimeout(resolve, wait))
  }
}

/**
 * @param {JobView} current
 * @param {JobEvent} event
 */
function onEvent(current, event) {
  if (view !== current || typeof event.seq !== 'number' || event.seq <= current.lastSeq) return
  current.lastSeq = event.seq
  if (event.kind === 'progress') {
    if (current.terminal) return
    const previous =
      event.phase === 'aggregate'
        ? current.aggregateProgress
        : typeof event.segment === 'number'
          ? current.progress.get(event.segment)
          : undefined
    const phase = event.phase ?? 'prove'
    /** @type {Progress} */
    const progress = {
      phase,
      done: event.done ?? 0,
      total: event.total ?? 0,
      peer: event.peer,
      // the same step going on: it began with its first report
      since:
        previous !== undefined && previous.phase === phase && previous.peer === event.peer
          ? previous.since
          : event.at
    }
    if (event.phase === 'aggregate') current.aggregateProgress = progress
    else if (typeof event.segment === 'number') current.progress.set(event.segment, progress)
  } else {
    if (event.kind === 'state' && isTerminal(event.state)) {
      // over, whichever way: no step is going on any more
      current.terminal = true
      current.progress.clear()
      current.aggregateProgress = undefined
    }
    appendEventRow(event)
    reloadSoon(current)
  }
  draw(current)
}

/** @param {JobEvent} event */
function appendEventRow(event) {
  const list = $('job-events')
  const text = [
    event.kind === 'state' ? event.state : event.kind,
    'segment' in event && event.segment !== undefined ? `segment ${event.segment}` : undefined,
    'peer' in event && event.peer !== undefined ? shortPeerId(event.peer) : undefined,
    event.message
  ]
    .filter((part) => part !== undefined && part !== '')
    .join(' · ')
  list.prepend(
    h('li', { data: { kind: event.kind } }, h('time', {}, new Date(event.at).toLocaleTimeString()), ' ', text)
  )
  while (list.children.length > MAX_EVENT_ROWS) list.lastElementChild?.remove()
}

/**
 * One redraw per animation frame, however many progress events arrive
 * @param {JobView} current
 */
function draw(current) {
  if (current.drawPending) return
  current.drawPending = true
  requestAnimationFrame(() => {
    current.drawPending = false
    if (view === current && current.record !== undefined) renderJob(current, current.record)
  })
}

/**
 * @param {string} label
 * @param {Child} value
 * @param {string} [testid]
 * @param {string} [title]
 */
function fact(label, value, testid, title) {
  return h('div', {}, h('dt', {}, label), h('dd', { testid, title }, value))
}

/**
 * @param {JobView} current
 * @param {JobRecord} job
 */
function renderJob(current, job) {
  const now = Date.now()
  const terminal = isTerminal(job.state)
  byTestId('job-view').dataset.jobId = job.id
  byTestId('job-view-id').textContent = job.id
  byTestId('job-view-state').replaceWith(stateBadge(job.state, 'job-view-state'))
  byTestId('job-stream').textContent = current.streamState

  const proved = job.segments.filter((segment) => segment.state === 'proved').length
  const end = job.finishedAt ?? (terminal ? job.updatedAt : now)
  const facts = [
    fact('data id', job.request.dataId),
    fact('program', `${job.request.program} (${job.request.inputMode} mode)`),
    fact('input', job.inputSize === undefined ? '–' : formatBytes(job.inputSize)),
    fact('units', job.request.computeCapacity),
    fact('segments proved', `${proved} / ${job.segments.length}`, 'job-segments-proved'),
    fact(
      'aggregator',
      job.aggregator === undefined ? '–' : shortPeerId(job.aggregator),
      'job-aggregator',
      job.aggregator
    ),
    fact('bytes sent', formatBytes(job.bytesOut), 'job-bytes'),
    fact('elapsed', formatDuration(end - job.createdAt)),
    job.waitingFor === undefined ? null : fact('waiting for', job.waitingFor),
    job.digest === undefined
      ? null
      : fact('digest', h('code', {}, `${job.digest.slice(0, 16)}…`), 'job-digest', job.digest),
    job.proof === undefined ? null : fact('proof', formatBytes(job.proof.size)),
    job.proof?.unverified === undefined ? null : fact('NOT verified', job.proof.unverified)
  ]
  $('job-facts').replaceChildren(...facts.filter((element) => element !== null))

  renderTimeline(job, now, terminal)

  const error = byTestId('job-error')
  error.hidden = job.error === undefined
  error.textContent = job.error === undefined ? '' : `${job.error.code}: ${job.error.message}`

  const rows = job.peers.map((peer) => renderJobPeer(current, job, peer))
  if (rows.length === 0) rows.push(emptyRow(5, job.waitingFor ?? 'no peer leased yet'))
  $('job-peers-body').replaceChildren(...rows)
}

/**
 * Each phase's share of the job so far, the running one marked
 * @param {JobRecord} job
 * @param {number} now
 * @param {boolean} terminal
 */
function renderTimeline(job, now, terminal) {
  const parts = JOB_PHASES.flatMap((phase) => {
    const timing = job.phases[phase]
    if (timing === undefined) return []
    const running = timing.endedAt === undefined && !terminal
    const ended = timing.endedAt ?? (terminal ? (job.finishedAt ?? job.updatedAt) : now)
    const ms = Math.max(0, ended - timing.startedAt)
    const part = h(
      'div',
      {
        class: running ? 'phase running' : 'phase',
        testid: 'job-phase',
        data: { phase },
        title: `${phase}: ${formatDuration(ms)}`
      },
      h('span', { class: 'name' }, phase),
      h('span', { class: 'time' }, formatDuration(ms))
    )
    // CSSOM, not a style attribute: the page's CSP allows no inline style
    part.style.flexGrow = String(Math.max(ms, 1))
    return [part]
  })
  $('job-timeline').replaceChildren(...parts)
}

/**
 * @param {JobView} current
 * @param {JobRecord} job
 * @param {JobPeerRecord} peer
 */
function renderJobPeer(current, job, peer) {
  const segments = job.segments.filter(
    (segment) => segment.peerId === peer.peerId || segment.backupPeerId === peer.peerId
  )
  const aggregating =
    peer.peerId === job.aggregator && job.state === 'aggregating' && current.aggregateProgress !== undefined
  return h(
    'tr',
    { testid: 'job-peer', data: { peerId: peer.peerId, state: peer.state } },
    h(
      'td',
      { class: 'peer', title: peer.peerId },
      h('code', {}, shortPeerId(peer.peerId)),
      peer.local || peer.peerId === selfId ? h('span', { class: 'tag' }, 'this node') : null,
      peer.peerId === job.aggregator
        ? h('span', { class: 'tag aggregator', testid: 'job-peer-aggregator' }, 'aggregator')
        : null
    ),
    h('td', { class: 'num' }, peer.units),
    h(
      'td',
      {},
      stateBadge(peer.state),
      peer.state === 'failed'
        ? h('div', { class: 'peer-failure', testid: 'job-peer-failure' }, describePeerFailure(peer.failure))
        : null
    ),
    h('td', { class: 'num' }, formatBytes(peer.bytesSent)),
    h(
      'td',
      { class: 'segments' },
      segments.map((segment) => renderSegment(current, job, segment, peer.peerId)),
      aggregating && current.aggregateProgress !== undefined
        ? progressBar(current.aggregateProgress, 'aggregate')
        : null
    )
  )
}

/**
 * @param {JobView} current
 * @param {JobRecord} job
 * @param {SegmentRecord} segment
 * @param {string} peerId
 */
function renderSegment(current, job, segment, peerId) {
  const backup = segment.backupPeerId === peerId
  // a job that is over (cancelled, failed) has no step going on, whatever its segments' last state
  const progress = isTerminal(job.state) ? undefined : current.progress.get(segment.index)
  // the bar of the step the segment is at: computing its contribution, then proving it
  const step =
    segment.state === 'assigned' ? 'contribute' : segment.state === 'contributed' ? 'prove' : undefined
  const blocks = `blocks ${segment.startBlock}–${segment.startBlock + segment.blockCount - 1}`
  const took = segment.proveMillis === undefined ? '' : `, proved in ${formatDuration(segment.proveMillis)}`
  return h(
    'div',
    {
      class: `segment segment-${segment.state}${backup ? ' backup' : ''}`,
      testid: 'job-segment',
      data: { segment: String(segment.index), state: segment.state, backup: String(backup) },
      title: `segment ${segment.index}: ${blocks}, ${formatBytes(segment.inputLength)}${took}`
    },
    h('span', { class: 'index' }, `#${segment.index}`),
    h('span', { class: 'label' }, backup ? `${segment.state} (backup)` : segment.state),
    progress !== undefined && progress.phase === step && progress.peer === peerId
      ? progressBar(progress)
      : null,
    segment.proveMillis === undefined
      ? null
      : h('span', { class: 'time' }, formatDuration(segment.proveMillis))
  )
}

/**
 * @param {Progress} progress
 * @param {string} [label]
 */
function progressBar(progress, label = progress.phase) {
  const total = Math.max(progress.total, 1)
  const done = Math.min(progress.done, total)
  return h(
    'span',
    {
      class: 'progress',
      testid: 'segment-progress',
      title: `${label}: ${done} / ${total}`,
      data: { done: String(done), total: String(total) }
    },
    h('progress', { max: total, value: done }),
    h(
      'span',
      { class: 'time' },
      `${label} ${Math.round((done / total) * 100)}% · ${formatDuration(Date.now() - progress.since)}`
    )
  )
}

// Time-dependent text (elapsed, the running phase) moves on between events too
setInterval(() => {
  if (view !== undefined && !view.terminal) draw(view)
}, 1_000)

// --- start ------------------------------------------------------------------------------------------------

if (token === undefined) askToken()
else startEverything()
