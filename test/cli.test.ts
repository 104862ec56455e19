import t from 'tap'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
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
