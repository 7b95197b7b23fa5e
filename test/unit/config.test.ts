import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { pathToFileURL } from 'node:url'
import {
  ConfigError,
  configDefaults,
  formatDuration,
  loadConfig,
  parseDuration,
  renderConfigToml
} from '../../src/config/index.js'
import { findPackageRoot } from '../../src/config/paths.js'

let dir: string
let n = 0

/** Writes a TOML file into the test directory and returns its path */
async function toml(text: string): Promise<string> {
  const path = join(dir, `config-${n++}.toml`)
  await writeFile(path, text)
  return path
}

/** Runs loadConfig expecting a ConfigError and returns it */
async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`)
    assert.equal(err.name, 'ConfigError')
    return err
  }
  assert.fail('expected loadConfig to throw a ConfigError')
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'proofmesh-config-'))
})

after(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('defaults', () => {
  it('resolves to configDefaults with no file, no environment and no overrides', async () => {
    assert.deepEqual(await loadConfig({ env: {} }), configDefaults)
  })

  it('has the documented values', () => {
    assert.equal(configDefaults.dataDir, join(homedir(), '.proofmesh'))
    assert.deepEqual(configDefaults.net.listen, ['/ip4/0.0.0.0/tcp/4001'])
    assert.deepEqual(configDefaults.net.announce, [])
    assert.deepEqual(configDefaults.net.bootstrap, [])
    assert.equal(configDefaults.net.swarmKey, '')
    assert.equal(configDefaults.net.maxConnections, 300)
    assert.equal(configDefaults.net.inboundConnectionThreshold, 100)
    assert.equal(configDefaults.net.dht, true)
    assert.equal(configDefaults.net.dhtProtocol, '/proofmesh/kad/1.0.0')
    assert.equal(configDefaults.capacity.computeUnits, 0)
    assert.deepEqual(configDefaults.capacity.tags, [])
    assert.equal(configDefaults.capacity.advertIntervalMs, 15_000)
    assert.equal(configDefaults.capacity.probeIntervalMs, 30_000)
    assert.equal(configDefaults.capacity.peerTtlIntervals, 2)
    assert.deepEqual(configDefaults.api, { host: '127.0.0.1', port: 7400 })
    assert.deepEqual(configDefaults.log, { level: 'info', format: 'pretty', file: '' })
    assert.equal(configDefaults.prover.backend, 'npp')
    assert.equal(configDefaults.prover.callTimeoutMs, 600_000)
    assert.equal(configDefaults.prover.cliProve, '')
    assert.equal(configDefaults.prover.cliVerify, '')
  })

  it('points the prover command at native/ of the package root', async () => {
    const root = findPackageRoot()
    const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { name: string }
    assert.equal(manifest.name, 'proofmesh')
    assert.deepEqual(configDefaults.prover.command, [
      join(root, 'native', 'target', 'release', 'proofmesh-prover'),
      'serve'
    ])
  })

  it('is frozen so no caller can change the defaults of another', () => {
    assert.ok(Object.isFrozen(configDefaults))
    assert.ok(Object.isFrozen(configDefaults.net.listen))
  })

  it('returns a fresh object each load', async () => {
    const a = await loadConfig({ env: {} })
    a.net.listen.push('/ip4/127.0.0.1/tcp/1')
    const b = await loadConfig({ env: {} })
    assert.deepEqual(b.net.listen, ['/ip4/0.0.0.0/tcp/4001'])
  })
})

describe('findPackageRoot', () => {
  it('finds the package from src/, dist/src/ and an installed copy', async () => {
    const root = findPackageRoot()
    assert.equal(findPackageRoot(pathToFileURL(join(root, 'src', 'config', 'paths.ts')).href), root)
    assert.equal(findPackageRoot(pathToFileURL(join(root, 'dist', 'src', 'config', 'paths.js')).href), root)

    const installed = join(dir, 'app', 'node_modules', 'proofmesh')
    await mkdir(join(installed, 'dist', 'src', 'config'), { recursive: true })
    await writeFile(join(dir, 'app', 'package.json'), JSON.stringify({ name: 'some-app' }))
    await writeFile(join(installed, 'package.json'), JSON.stringify({ name: 'proofmesh' }))
    const moduleUrl = pathToFileURL(join(installed, 'dist', 'src', 'config', 'paths.js')).href
    assert.equal(findPackageRoot(moduleUrl), installed)
  })
})

describe('renderConfigToml', () => {
  it('parses back to exactly the defaults', async () => {
    const path = await toml(renderConfigToml())
    assert.deepEqual(await loadConfig({ configPath: path, env: {} }), configDefaults)
  })

  it('documents every key with its environment variable', () => {
    const text = renderConfigToml()
    for (const key of [
      'data_dir',
      'listen',
      'inbound_connection_threshold',
      'advert_interval',
      'nice',
      'cli_verify'
    ]) {
      assert.match(text, new RegExp(`^${key} = `, 'm'))
    }
    for (const section of ['net', 'capacity', 'api', 'log', 'prover', 'jobs', 'inputs', 'security']) {
      assert.match(text, new RegExp(`^\\[${section}\\]$`, 'm'))
    }
    assert.match(text, /PROOFMESH_CAPACITY_ADVERT_INTERVAL/)
    assert.match(text, /^advert_interval = "15s"$/m)
    // one comment line of explanation and one of expected form per key
    const keyLines = text.split('\n').filter((line) => /^[a-z_0-9]+ = /.test(line))
    // data_dir + net 8 + capacity 6 + api 2 + log 3 + prover 9 + jobs 17 + inputs 2 + security 4
    assert.equal(keyLines.length, 53)
    assert.equal((text.match(/^# Expected: /gm) ?? []).length, 53)
  })
})

describe('sources and priority', () => {
  it('takes flags over the file over the environment over the defaults', async () => {
    const env = { PROOFMESH_API_PORT: '1001', PROOFMESH_LOG_LEVEL: 'debug', PROOFMESH_NET_DHT: 'false' }
    const path = await toml('[api]\nport = 1002\n[log]\nformat = "json"\n')

    const fromEnv = await loadConfig({ env })
    assert.equal(fromEnv.api.port, 1001)

    const fromFile = await loadConfig({ env, configPath: path })
    assert.equal(fromFile.api.port, 1002)
    assert.equal(fromFile.log.level, 'debug')
    assert.equal(fromFile.log.format, 'json')
    assert.equal(fromFile.net.dht, false)

    const fromFlags = await loadConfig({ env, configPath: path, overrides: { api: { port: 1003 } } })
    assert.equal(fromFlags.api.port, 1003)
    assert.equal(fromFlags.log.format, 'json')
    assert.equal(fromFlags.api.host, '127.0.0.1')
  })

  it('reads the file named by PROOFMESH_CONFIG, and an explicit path over it', async () => {
    const a = await toml('[api]\nport = 2001\n')
    const b = await toml('[api]\nport = 2002\n')
    assert.equal((await loadConfig({ env: { PROOFMESH_CONFIG: a } })).api.port, 2001)
    assert.equal((await loadConfig({ env: { PROOFMESH_CONFIG: a }, configPath: b })).api.port, 2002)
  })

  it('parses every kind of value from the environment', async () => {
    const config = await loadConfig({
      env: {
        PROOFMESH_DATA_DIR: '/srv/proofmesh',
        PROOFMESH_NET_LISTEN: '/ip4/127.0.0.1/tcp/4001, /ip6/::1/tcp/4001,',
        PROOFMESH_NET_ANNOUNCE: '',
        PROOFMESH_NET_MAX_CONNECTIONS: ' 50 ',
        PROOFMESH_NET_DHT: 'no',
        PROOFMESH_CAPACITY_TAGS: 'gpu,region=eu',
        PROOFMESH_CAPACITY_ADVERT_INTERVAL: '250ms',
        PROOFMESH_PROVER_CALL_TIMEOUT: '1h30m',
        PROOFMESH_LOG_LEVEL: 'warn',
        PROOFMESH_API_PORT: '0',
        HOME: '/home/someone',
        PATH: '/usr/bin'
      }
    })
    assert.equal(config.dataDir, '/srv/proofmesh')
    assert.deepEqual(config.net.listen, ['/ip4/127.0.0.1/tcp/4001', '/ip6/::1/tcp/4001'])
    assert.deepEqual(config.net.announce, [])
    assert.equal(config.net.maxConnections, 50)
    assert.equal(config.net.dht, false)
    assert.deepEqual(config.capacity.tags, ['gpu', 'region=eu'])
    assert.equal(config.capacity.advertIntervalMs, 250)
    assert.equal(config.prover.callTimeoutMs, 5_400_000)
    assert.equal(config.log.level, 'warn')
    assert.equal(config.api.port, 0)
  })

  it('takes a list variable as a JSON array, so that an argv element may hold commas and spaces', async () => {
    const config = await loadConfig({
      env: {
        PROOFMESH_PROVER_COMMAND: ' ["/opt/my prover/bin", "serve", "--gpus=0,1"]',
        PROOFMESH_CAPACITY_TAGS: 'gpu,region=eu'
      }
    })
    assert.deepEqual(config.prover.command, ['/opt/my prover/bin', 'serve', '--gpus=0,1'])
    assert.deepEqual(config.capacity.tags, ['gpu', 'region=eu'], 'the comma form still works')
    const broken = await configError(loadConfig({ env: { PROOFMESH_PROVER_COMMAND: '["/opt/p", serve]' } }))
    assert.equal(broken.key, 'prover.command')
    assert.match(
      broken.message,
      /PROOFMESH_PROVER_COMMAND: expected .*\(as a JSON array, e\.g\. \["a", "b"\]\)/
    )
    const notStrings = await configError(loadConfig({ env: { PROOFMESH_PROVER_COMMAND: '["/opt/p", 1]' } }))
    assert.match(notStrings.message, /expected a list of at least 1 .*, got 1$/)
  })

  it('accepts durations as milliseconds or text in overrides', async () => {
    const config = await loadConfig({
      env: {},
      overrides: { capacity: { advertIntervalMs: 2000, probeIntervalMs: '1m' as unknown as number } }
    })
    assert.equal(config.capacity.advertIntervalMs, 2000)
    assert.equal(config.capacity.probeIntervalMs, 60_000)
  })

  it('replaces lists rather than appending', async () => {
    const path = await toml('[net]\nlisten = ["/ip4/127.0.0.1/tcp/1"]\n')
    const config = await loadConfig({
      env: { PROOFMESH_NET_LISTEN: '/ip4/127.0.0.1/tcp/2' },
      configPath: path,
      overrides: { net: { listen: ['/ip4/127.0.0.1/tcp/3'] } }
    })
    assert.deepEqual(config.net.listen, ['/ip4/127.0.0.1/tcp/3'])
  })
})

describe('paths', () => {
  it('expands ~ with HOME from the given environment', async () => {
    const config = await loadConfig({ env: { HOME: '/home/alice', PROOFMESH_NET_SWARM_KEY: '~/swarm.key' } })
    assert.equal(config.dataDir, '/home/alice/.proofmesh')
    assert.equal(config.net.swarmKey, '/home/alice/swarm.key')
  })

  it('resolves relative paths in a file against the file directory', async () => {
    const path = await toml('data_dir = "state"\n[net]\nswarm_key = "keys/swarm.key"\n[log]\nfile = ""\n')
    const config = await loadConfig({ env: {}, configPath: path })
    assert.equal(config.dataDir, join(dir, 'state'))
    assert.equal(config.net.swarmKey, join(dir, 'keys', 'swarm.key'))
    assert.equal(config.log.file, '')
  })
})

describe('errors', () => {
  it('names the key, the file and the expected form of a bad value', async () => {
    const path = await toml('[capacity]\nadvert_interval = "fast"\n')
    const err = await configError(loadConfig({ env: {}, configPath: path }))
    assert.equal(err.key, 'capacity.advert_interval')
    assert.match(err.expected, /^a duration like "5s" or "500ms"/)
    assert.equal(
      err.message,
      `capacity.advert_interval in ${path}: expected a duration like "5s" or "500ms", at least 100ms, got "fast"`
    )
  })

  it('enforces minimums and ranges', async () => {
    const cases: Array<[string, string]> = [
      ['[capacity]\nadvert_interval = "50ms"\n', 'capacity.advert_interval'],
      ['[capacity]\nadvert_interval = 5\n', 'capacity.advert_interval'],
      ['[net]\nmax_connections = 0\n', 'net.max_connections'],
      ['[net]\nmax_connections = 10001\n', 'net.max_connections'],
      ['[net]\nmax_connections = 1.5\n', 'net.max_connections'],
      ['[net]\nmax_connections = "300"\n', 'net.max_connections'],
      ['[net]\ninbound_connection_threshold = 0\n', 'net.inbound_connection_threshold'],
      ['[capacity]\ncompute_units = -1\n', 'capacity.compute_units'],
      ['[capacity]\npeer_ttl_intervals = 0\n', 'capacity.peer_ttl_intervals'],
      ['[capacity]\ntags = ["has space"]\n', 'capacity.tags'],
      ['[api]\nport = 65536\n', 'api.port'],
      ['[log]\nlevel = "verbose"\n', 'log.level'],
      ['[log]\nformat = "xml"\n', 'log.format'],
      ['[prover]\nbackend = "gpu"\n', 'prover.backend'],
      ['[prover]\ncommand = []\n', 'prover.command'],
      ['[prover]\ncall_timeout = "0s"\n', 'prover.call_timeout'],
      ['[prover]\ncall_timeout = "30d"\n', 'prover.call_timeout'],
      ['[net]\ndht = "yes"\n', 'net.dht'],
      ['[net]\ndht_protocol = "kad"\n', 'net.dht_protocol'],
      ['data_dir = ""\n', 'data_dir']
    ]
    for (const [text, key] of cases) {
      const err = await configError(loadConfig({ env: {}, configPath: await toml(text) }))
      assert.equal(err.key, key, text)
    }
    await loadConfig({ env: {}, configPath: await toml('[net]\nmax_connections = 10000\n[api]\nport = 0\n') })
  })

  it('validates multiaddrs and bootstrap peer ids', async () => {
    const bad = await configError(
      loadConfig({
        env: {},
        configPath: await toml('[net]\nlisten = ["/ip4/0.0.0.0/tcp/4001", "0.0.0.0:4001"]\n')
      })
    )
    assert.equal(bad.key, 'net.listen')
    assert.match(bad.message, /got "0\.0\.0\.0:4001"/)

    const noPeer = await configError(
      loadConfig({ env: { PROOFMESH_NET_BOOTSTRAP: '/ip4/10.0.0.1/tcp/4001' } })
    )
    assert.equal(noPeer.key, 'net.bootstrap')
    assert.match(noPeer.message, /environment variable PROOFMESH_NET_BOOTSTRAP/)

    const badPeer = await configError(
      loadConfig({ env: { PROOFMESH_NET_BOOTSTRAP: '/ip4/10.0.0.1/tcp/4001/p2p/notapeerid' } })
    )
    assert.equal(badPeer.key, 'net.bootstrap')

    const peer = '/dns4/boot.example.org/tcp/4001/p2p/12D3KooWGRUVh9AqUYK1P8Ch7uG5xjK6LyxJZJY3ayGbSVnhJLFP'
    const ok = await loadConfig({ env: { PROOFMESH_NET_BOOTSTRAP: peer } })
    assert.deepEqual(ok.net.bootstrap, [peer])
  })

  it('validates the peer ids of the security lists and the per-submitter cap', async () => {
    const peer = '12D3KooWGRUVh9AqUYK1P8Ch7uG5xjK6LyxJZJY3ayGbSVnhJLFP'
    const ok = await loadConfig({
      env: { PROOFMESH_SECURITY_DENY_PEERS: peer, PROOFMESH_SECURITY_MAX_JOBS_PER_SUBMITTER: '1' },
      configPath: await toml(`[security]\nallow_submitters = ["${peer}"]\n`)
    })
    assert.deepEqual(ok.security, {
      allowSubmitters: [peer],
      denyPeers: [peer],
      maxJobsPerSubmitter: 1,
      maxUnitsPerSubmitter: 0,
      firstAssignTimeoutMs: 300_000
    })
    assert.deepEqual(configDefaults.security, {
      allowSubmitters: [],
      denyPeers: [],
      maxJobsPerSubmitter: 4,
      maxUnitsPerSubmitter: 0,
      firstAssignTimeoutMs: 300_000
    })

    const badPeer = await configError(
      loadConfig({ env: {}, configPath: await toml('[security]\ndeny_peers = ["notapeerid"]\n') })
    )
    assert.equal(badPeer.key, 'security.deny_peers')
    assert.match(badPeer.message, /expected a list of peer ids/)
    const zero = await configError(loadConfig({ env: { PROOFMESH_SECURITY_MAX_JOBS_PER_SUBMITTER: '0' } }))
    assert.equal(zero.key, 'security.max_jobs_per_submitter')
  })

  it('names the environment variable of a bad value', async () => {
    const err = await configError(loadConfig({ env: { PROOFMESH_NET_MAX_CONNECTIONS: 'many' } }))
    assert.equal(err.key, 'net.max_connections')
    assert.equal(
      err.message,
      'net.max_connections in environment variable PROOFMESH_NET_MAX_CONNECTIONS: expected an integer from 1 to 10000, got "many"'
    )
  })

  it('names the flag of a bad override', async () => {
    const err = await configError(loadConfig({ env: {}, overrides: { capacity: { advertIntervalMs: 50 } } }))
    assert.equal(err.key, 'capacity.advert_interval')
    assert.match(err.message, /command-line option capacity\.advertIntervalMs/)
  })

  it('refuses unknown keys in the file, with a suggestion', async () => {
    const typo = await configError(loadConfig({ env: {}, configPath: await toml('[net]\nlistn = []\n') }))
    assert.equal(typo.key, 'net.listn')
    assert.match(typo.message, /did you mean listen\?/)

    const section = await configError(loadConfig({ env: {}, configPath: await toml('[gpu]\ncount = 1\n') }))
    assert.equal(section.key, 'gpu')

    const misplaced = await configError(
      loadConfig({ env: {}, configPath: await toml('[net]\ndht = true\ndata_dir = "/srv"\n') })
    )
    assert.equal(misplaced.key, 'net.data_dir')
    assert.match(misplaced.message, /before the first \[section\]/)

    const notTable = await configError(loadConfig({ env: {}, configPath: await toml('net = 5\n') }))
    assert.equal(notTable.key, 'net')
  })

  it('refuses unknown PROOFMESH_* variables and ignores other variables', async () => {
    const err = await configError(loadConfig({ env: { PROOFMESH_NET_LISTN: '/ip4/0.0.0.0/tcp/1' } }))
    assert.equal(err.key, 'PROOFMESH_NET_LISTN')
    assert.match(err.message, /did you mean PROOFMESH_NET_LISTEN\?/)
    await loadConfig({ env: { PROOFMESHX: '1', NODE_ENV: 'test', PROOFMESH_TEST_LOG_LEVEL: 'debug' } })
  })

  it('refuses unknown override fields', async () => {
    const err = await configError(
      loadConfig({
        env: {},
        overrides: { net: { maxConnection: 5 } as unknown as { maxConnections: number } }
      })
    )
    assert.equal(err.key, 'net.maxConnection')
    assert.match(err.message, /did you mean maxConnections\?/)
  })

  it('reports a missing, unreadable or malformed file', async () => {
    const missing = join(dir, 'missing.toml')
    const gone = await configError(loadConfig({ env: {}, configPath: missing }))
    assert.equal(gone.key, 'config')
    assert.match(gone.message, new RegExp(`${missing}: config file not found`))

    const fromEnv = await configError(loadConfig({ env: { PROOFMESH_CONFIG: missing } }))
    assert.equal(fromEnv.key, 'config')

    const directory = await configError(loadConfig({ env: {}, configPath: dir }))
    assert.match(directory.message, /not a regular file/)

    const broken = await configError(loadConfig({ env: {}, configPath: await toml('[net\nlisten = 1\n') }))
    assert.equal(broken.key, 'config')
    assert.match(broken.message, /invalid TOML at line 1/)
  })

  it('needs both templates when the prover backend is cli', async () => {
    const err = await configError(
      loadConfig({ env: {}, overrides: { prover: { backend: 'cli', cliProve: 'prove {input}' } } })
    )
    assert.equal(err.key, 'prover.cli_verify')
    const ok = await loadConfig({
      env: {},
      overrides: { prover: { backend: 'cli', cliProve: 'prove {input}', cliVerify: 'verify {proof}' } }
    })
    assert.equal(ok.prover.backend, 'cli')
  })
})

describe('parseDuration', () => {
  it('reads ms, s, m, h and d, fractions and combinations', () => {
    assert.equal(parseDuration('500ms'), 500)
    assert.equal(parseDuration('5s'), 5000)
    assert.equal(parseDuration('1.5s'), 1500)
    assert.equal(parseDuration('10m'), 600_000)
    assert.equal(parseDuration('1h30m'), 5_400_000)
    assert.equal(parseDuration('2d'), 172_800_000)
    assert.equal(parseDuration(' 0ms '), 0)
  })

  it('refuses bare numbers, unknown units, signs and overflow', () => {
    for (const text of ['', '5', 'fast', '5 s', '-5s', '5sec', '5S', 's', '1e3ms', '25d']) {
      assert.throws(() => parseDuration(text), { name: 'InvalidValueError' }, text)
    }
  })

  it('round-trips through formatDuration', () => {
    for (const ms of [1, 100, 1500, 5000, 60_000, 90_000, 3_600_000, 86_400_000]) {
      assert.equal(parseDuration(formatDuration(ms)), ms)
    }
    assert.equal(formatDuration(600_000), '10m')
  })
})
