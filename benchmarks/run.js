// The benchmark suite: `npm run bench` (full: 3 interleaved rounds of 10 s), `npm run bench -- --quick`
// (a smoke run: 1 round of ~2 s, small files; CI runs it). `--only static,uploads-small` picks scenarios.
// It imports the built plugin from dist/ (`npm run bench` builds it first). See benchmarks/README.md.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from './lib/args.js'
import { profileServersInto } from './lib/child.js'
import { environment, renderReport } from './lib/report.js'

const HERE = import.meta.dirname
const SCENARIOS = ['uploads-small', 'variants-lazy', 'uploads-large', 'uploads-direct', 'uploads-resumable', 'static', 'static-mix', 'collectstatic', 'sweep']

const args = parseArgs(process.argv.slice(2), SCENARIOS)
if (args.help) {
  console.log(args.usage)
  process.exit(0)
}
if (!existsSync(join(HERE, '..', 'dist', 'index.js'))) {
  console.error('dist/ is missing: run `npm run build` first (`npm run bench` does)')
  process.exit(1)
}

if (args.cpuProf !== undefined) profileServersInto(args.cpuProf)
const scratch = args.dir
rmSync(scratch, { recursive: true, force: true })
mkdirSync(scratch, { recursive: true })
const log = (message) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`)
const ctx = {
  ...args,
  log,
  scratchDir (name) {
    const dir = join(scratch, name)
    mkdirSync(dir, { recursive: true })
    return dir
  },
  sync () {
    execFileSync('sync')
  }
}

const loadBefore = loadavg()
const started = Date.now()
const results = []
for (const name of args.only) {
  const { default: scenario } = await import(`./scenarios/${name}.js`)
  log(`scenario ${name}`)
  try {
    results.push({ name, ...await scenario.run(ctx) })
  } catch (err) {
    log(`scenario ${name} FAILED: ${err.stack ?? err}`)
    results.push({ name, error: String(err.message ?? err) })
  }
}
const loadAfter = loadavg()
const report = renderReport({ results, args, env: await environment(scratch), loadBefore, loadAfter, seconds: (Date.now() - started) / 1000 })
console.log(report)
if (args.out !== undefined) {
  writeFileSync(args.out, report)
  log(`written to ${args.out}`)
}
if (!args.keep) rmSync(scratch, { recursive: true, force: true })
if (results.some((result) => result.error !== undefined)) {
  // restated last, where a CI log's tail shows it
  for (const { name, error } of results.filter((result) => result.error !== undefined)) log(`FAILED: scenario ${name}: ${error}`)
  process.exit(1)
}
