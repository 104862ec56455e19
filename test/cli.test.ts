import t from 'tap'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '../lib/cli/main.js'

const run = async (...argv: string[]) => {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (line) => out.push(line), err: (line) => err.push(line) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

t.test('help, version and unknown commands', async (t) => {
  for (const argv of [[], ['help'], ['--help'], ['-h']]) {
    const res = await run(...argv)
    t.equal(res.code, 0)
    t.match(res.out, /Usage: fastify-media <command>/)
  }
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  for (const flag of ['version', '--version', '-v']) t.same(await run(flag), { code: 0, out: version, err: '' })
  const unknown = await run('frobnicate')
  t.equal(unknown.code, 2)
  t.match(unknown.err, /unknown command "frobnicate"/)
})

t.test('the built bin runs', { skip: existsSync('dist/bin.js') ? false : 'run npm run build first' }, async (t) => {
  t.match(execFileSync(process.execPath, ['dist/bin.js', '--help'], { encoding: 'utf8' }), /Usage: fastify-media/)
  const failed = spawnSync(process.execPath, ['dist/bin.js', 'frobnicate'], { encoding: 'utf8' })
  t.equal(failed.status, 2)
  t.match(failed.stderr, /unknown command/)
})

t.test('sweep: a dry run counts, then the real run removes the old unreferenced file, with progress on a terminal', { skip: existsSync('dist/index.js') ? false : 'run npm run build first' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fastify-media-sweep-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  mkdirSync(join(dir, 'media'))
  const old = new Date(Date.now() - 7200_000)
  for (const name of ['kept.txt', 'orphan.txt']) {
    writeFileSync(join(dir, 'media', name), name)
    utimesSync(join(dir, 'media', name), old, old)
  }
  writeFileSync(join(dir, 'referenced.json'), JSON.stringify(['kept.txt']))
  process.env.CLI_APP_DIR = dir
  t.teardown(() => { delete process.env.CLI_APP_DIR })
  const app = join('test', 'fixtures', 'cli-apps', 'sweep.mjs')
  const dry = await run('sweep', app, '--older-than', '1h', '--dry-run')
  t.equal(dry.code, 0, dry.err)
  t.match(dry.out, /^Pretending: default: 2 files scanned, would remove 1 unreferenced and 0 abandoned internal files; kept 1 referenced, 0 recent, 0 in use$/)
  t.ok(existsSync(join(dir, 'media', 'orphan.txt')))
  const drawn: string[] = []
  const code = await main(['sweep', app, '--older-than', '1h'], { out: () => {}, err: () => {}, progress: (text) => drawn.push(text) })
  t.equal(code, 0)
  t.same(drawn, ['sweeping: 2 scanned, 1 removed'])
  t.notOk(existsSync(join(dir, 'media', 'orphan.txt')))
  t.ok(existsSync(join(dir, 'media', 'kept.txt')))
  const recent = await run('sweep', app, '--dry-run')
  t.match(recent.out, /would remove 0 unreferenced/, 'the default age is a day')
  const dryDrawn: string[] = []
  await main(['sweep', app, '--dry-run', '--older-than', '1'], { out: () => {}, err: () => {}, progress: (text) => dryDrawn.push(text) })
  t.same(dryDrawn, ['sweeping: 1 scanned, 0 to remove'])
  t.equal((await run('sweep')).code, 2, 'an app module is required')
})
