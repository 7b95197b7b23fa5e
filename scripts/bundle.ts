/**
 * Replaces tsc's dist/node/cli.js (the `proofmesh` entry point) with one file holding it and everything it
 * imports, so that a daemon starts without resolving and compiling ~650 modules one by one.
 *
 * Why: on Node 20 (engines >= 20; no module.enableCompileCache before 22.1) the ES module loader spent 60-70% of
 * a daemon's start-up on that (stat, package.json lookups, URL handling and a compile per file: 0.65 s of CPU
 * for the libp2p host's imports alone). One bundled file starts the same daemon in less than half the time
 * (npm run bench:daemon). The input is tsc's own output, so the bundle runs exactly the code tsc type-checked
 * and emitted; its source map follows tsc's maps back to the .ts files (`node --enable-source-maps`).
 *
 * Every other file under dist/ stays as tsc wrote it (tests and benchmarks import them). Running tsc alone
 * writes the unbundled entry again, which works the same, only slower to start: never a stale bundle.
 *
 *   npm run build:ts        (tsc, then this)
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { build } from 'esbuild'
import { findPackageRoot } from '../src/config/paths.js'

const root = findPackageRoot()
const entry = join(root, 'dist', 'node', 'cli.js')

const result = await build({
  entryPoints: [entry],
  outfile: entry,
  bundle: true,
  platform: 'node',
  format: 'esm',
  // No syntax lowering: the input already runs on Node 20 as it is. Lowered, a `/\p{RGI_Emoji}/v` literal became
  // a `new RegExp` that V8 compiled at start-up (15 ms) instead of on first use.
  target: 'esnext',
  // a native addon: loaded from node_modules by its own loader
  external: ['better-sqlite3'],
  // CommonJS dependencies bundled into an ES module call require() for Node's built-ins
  banner: {
    js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);"
  },
  // Comments out: some hold non-ASCII characters, and one such character made V8 keep the whole 3 MB source as a
  // two-byte string for the process's lifetime (-4 MiB of RSS, and 3% less CPU to start). Stack traces keep
  // their function names; `node --enable-source-maps` maps their positions back to the .ts files.
  minifyWhitespace: true,
  sourcemap: 'linked',
  write: false,
  logLevel: 'warning'
})
for (const file of result.outputFiles) await writeFile(file.path, file.contents)
