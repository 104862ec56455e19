// The first hour of a user, in CI: the package as `npm pack` makes it, installed in a fresh directory with
// the README's Quick start copied literally. It must compile under `--strict` with `skipLibCheck: false`,
// without the optional AWS SDK and with it, with TypeScript 5.9 and 7; the compiled app must run and store a
// real multipart upload sent with curl. Needs dist/ (npm test builds first) and npm's cache or the registry.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import { fixture, tempDir } from './helpers.js'

const ROOT = join(import.meta.dirname, '..')
// a cold npm cache on a busy 2-core machine: a few minutes at worst
t.setTimeout(15 * 60_000)

const installed = (name: string): string => (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
// the versions this repository tests with, so that npm's cache serves them
const pinned = (name: string): string => `${name}@${installed(name)}`

/** The Quick start's code: the first ts block under "## Quick start". */
function quickStart (): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('\n## Quick start'))
  const block = /\n```ts\n([\s\S]*?)\n```\n/.exec(section)
  if (block === null) throw new Error('README.md: no ts block under "## Quick start"')
  return block[1] + '\n'
}

// npm's own variables from a parent `npm test` (prefix, package, lifecycle) must not reach the fresh project
const childEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_(package|lifecycle|config_local_prefix|config_prefix)/i.test(key))),
  ...extra
})

/**
 * Spawns a command as a user's shell would: tap's process tracking adds NODE_OPTIONS (its loader, and
 * coverage) to every child it sees, which would measure the compiler and breaks TypeScript 7's ESM `bin`
 * (ERR_REQUIRE_CYCLE_MODULE). A shell drops them before it becomes the command (exec keeps the pid).
 */
function spawnClean (command: string, args: string[], cwd: string, extra: Record<string, string> = {}): ChildProcess {
  return spawn('/bin/sh', ['-c', 'unset NODE_OPTIONS NODE_V8_COVERAGE; exec "$@"', 'sh', command, ...args], { cwd, env: childEnv(extra), stdio: ['ignore', 'pipe', 'pipe'] })
}

interface Result { code: number | null, output: string, seconds: number }

async function exec (command: string, args: string[], cwd: string): Promise<Result> {
  const started = performance.now()
  const child = spawnClean(command, args, cwd)
  let output = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
  const [code] = await once(child, 'close') as [number | null]
  return { code, output, seconds: Math.round((performance.now() - started) / 100) / 10 }
}

const npmCli = process.env.npm_execpath
const npm = async (args: string[], cwd: string): Promise<Result> =>
  npmCli !== undefined && npmCli.endsWith('.js') ? await exec(process.execPath, [npmCli, ...args], cwd) : await exec('npm', args, cwd)
const npmInstall = async (packages: string[], cwd: string): Promise<Result> =>
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...packages], cwd)

// the README's compile line, with skipLibCheck stated: the default, said aloud
const TSC_ARGS = ['--strict', '--module', 'nodenext', '--skipLibCheck', 'false']

/** Starts the compiled app on a free port and resolves with its address once it listens. */
async function startApp (dir: string): Promise<{ child: ChildProcess, url: string }> {
  const child = spawnClean(process.execPath, ['app.js'], dir, { PORT: '0' })
  let output = ''
  return await new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => { reject(new Error(`the app exited (${code}) before listening:\n${output}`)) }
    child.once('exit', onExit)
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (listening !== null) {
        child.off('exit', onExit)
        resolve({ child, url: listening[1] as string })
      }
    })
  })
}

async function uploadWithCurl (url: string, dir: string): Promise<{ status: number, body: string }> {
  const curl = await exec('curl', ['-sS', '-w', '\n%{http_code}', '-F', 'name=Ada', '-F', 'document=@cv.pdf', `${url}/profiles`], dir).catch(() => undefined)
  if (curl !== undefined && curl.code === 0) {
    const lines = curl.output.trimEnd().split('\n')
    return { status: Number(lines.pop()), body: lines.join('\n') }
  }
  // no curl here: the same form through undici (Node's fetch)
  const form = new FormData()
  form.set('name', 'Ada')
  form.set('document', new Blob([readFileSync(join(dir, 'cv.pdf'))], { type: 'application/pdf' }), 'cv.pdf')
  const res = await fetch(`${url}/profiles`, { method: 'POST', body: form })
  return { status: res.status, body: await res.text() }
}

t.test('the packed tarball in a fresh directory: the Quick start compiles (strict, skipLibCheck false, TS 5.9 and 7, with and without the AWS SDK), runs, and stores a curl upload', async (t) => {
  if (!existsSync(join(ROOT, 'dist', 'index.d.ts'))) throw new Error('dist/ is missing: run `npm run build` first (npm test does)')
  const timings: string[] = []
  const step = async (label: string, result: Promise<Result>): Promise<Result> => {
    const done = await result
    timings.push(`${label} ${done.seconds}s`)
    return done
  }

  const work = tempDir(t)
  const pack = await step('npm pack', npm(['pack', '--json', '--pack-destination', work], ROOT))
  t.equal(pack.code, 0, 'npm pack')
  const tarball = join(work, (JSON.parse(pack.output.slice(pack.output.indexOf('['))) as Array<{ filename: string }>)[0]!.filename)
  t.ok(existsSync(tarball), 'the tarball is there')

  const dir = join(work, 'app')
  await exec('mkdir', [dir], work)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'quick-start', private: true, type: 'module' }))
  writeFileSync(join(dir, 'app.ts'), quickStart())
  writeFileSync(join(dir, 'cv.pdf'), fixture('fixture.pdf'))

  const install = await step('npm install', npmInstall([
    tarball, pinned('fastify'), pinned('typescript'), pinned('@types/node'),
    pinned('@fastify/type-provider-typebox'), pinned('typebox'),
    // TypeScript 7 (the native compiler) ships `tsc` too: beside 5.9 under another name
    'typescript7@npm:typescript@7'
  ], dir))
  t.equal(install.code, 0, `npm install: ${install.output.trim()}`)
  t.notOk(existsSync(join(dir, 'node_modules', '@aws-sdk')), 'the optional AWS SDK is not installed')

  const tsc5 = join(dir, 'node_modules', 'typescript', 'bin', 'tsc')
  const tsc7 = join(dir, 'node_modules', 'typescript7', 'bin', 'tsc')
  const compile = async (label: string, tsc: string, emit: boolean): Promise<void> => {
    const result = await step(label, exec(process.execPath, [tsc, ...TSC_ARGS, ...(emit ? [] : ['--noEmit']), 'app.ts'], dir))
    t.equal(result.code, 0, `${label}: 0 errors`)
    t.equal(result.output, '', `${label}: nothing printed`)
    if (result.code !== 0) t.comment(result.output)
  }
  await compile('tsc 5.9, no AWS SDK', tsc5, true)
  await compile('tsc 7, no AWS SDK', tsc7, false)

  const started = performance.now()
  const { child, url } = await startApp(dir)
  t.teardown(() => { child.kill() })
  const upload = await uploadWithCurl(url, dir)
  t.equal(upload.status, 201, upload.body)
  const { document } = JSON.parse(upload.body) as { document: { name: string, url: string } }
  t.match(document, { name: /^docs\/\d{4}\/\d{2}\/cv\.pdf$/, url: /^\/media\/docs\/\d{4}\/\d{2}\/cv\.pdf$/ })
  t.same(readFileSync(join(dir, 'media', document.name)), fixture('fixture.pdf'), 'the upload is stored on disk, byte for byte')
  child.kill()
  const [code, signal] = await once(child, 'exit') as [number | null, string | null]
  t.ok(code !== null || signal === 'SIGTERM', 'the app has stopped')
  timings.push(`run and upload ${Math.round((performance.now() - started) / 100) / 10}s`)

  const sdk = await step('npm install the AWS SDK', npmInstall([pinned('@aws-sdk/client-s3'), pinned('@aws-sdk/lib-storage'), pinned('@aws-sdk/s3-request-presigner')], dir))
  t.equal(sdk.code, 0, `npm install: ${sdk.output.trim()}`)
  await compile('tsc 5.9, with the AWS SDK', tsc5, false)
  await compile('tsc 7, with the AWS SDK', tsc7, false)
  t.comment(timings.join(', '))
})
