// README's S3Storage section, run as written: its sh block starts the local S3 (the README's own s3rver
// command, on a temp directory and a free port) and sets the environment; its ts block, compiled, is the
// app, run as a child process. An upload through the app lands in the bucket.
import t from 'tap'
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import ts from 'typescript'
import { fixture, multipart, tempDir, type Part } from './helpers.js'
import { ROOT } from './cli-run.js'

const MARKER = '<!-- test/readme-s3.test.ts runs this block and the next as written -->'

/** The sh block after the marker and the ts block after it. */
function snippets (): { sh: string, app: string } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const at = readme.indexOf(MARKER)
  if (at < 0) throw new Error('README.md lost the S3 marker')
  const [, sh, app] = /^```sh\n([\s\S]*?)```\s*```ts\n([\s\S]*?)```/.exec(readme.slice(at + MARKER.length).trimStart()) ?? []
  if (sh === undefined || app === undefined) throw new Error('after the marker: a sh block, then a ts block')
  return { sh, app }
}

/** Spawns a command from the repository root in its own process group (npx runs s3rver as a grandchild), killed when the test ends. */
function start (t: Tap, command: string, args: string[], env: Record<string, string> = {}): ChildProcess & { lines: AsyncIterator<string> } {
  const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'], detached: true })
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {}
  })
  return Object.assign(child, { lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator]() })
}

async function lineMatching (lines: AsyncIterator<string>, pattern: RegExp): Promise<RegExpExecArray> {
  for (let next = await lines.next(); next.done !== true; next = await lines.next()) {
    const match = pattern.exec(next.value)
    if (match !== null) return match
  }
  throw new Error(`the output ended before a line matching ${pattern}`)
}

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

t.test('the README\'s S3 app runs against the README\'s local S3, and an upload lands in the bucket', async (t) => {
  const { sh, app } = snippets()
  const lines = sh.trim().split('\n')

  // 1. the local S3, as the README starts it (a temp directory, any free port)
  const [command, ...args] = lines[0]!.split(' ')
  t.equal(command, 'npx')
  const s3dir = tempDir(t)
  const s3rver = start(t, 'npx', [...args.map((arg) => arg === '/tmp/s3' ? s3dir : arg), '--port', '0'])
  const [, port] = await lineMatching(s3rver.lines, /S3rver listening on 127\.0\.0\.1:(\d+)/)

  // 2. the environment it exports (the signing key through the same command)
  const env: Record<string, string> = {}
  for (const line of lines.slice(1)) {
    for (const [, name, value] of line.replace(/^export /, '').matchAll(/(\w+)=(\$\([^)]*\)|\S+)/g)) {
      env[name!] = value === '$(openssl rand -hex 32)' ? (await output('openssl', ['rand', '-hex', '32'])) : value!.replace(':4568', `:${port}`)
    }
  }
  t.same(Object.keys(env).sort(), ['AWS_ACCESS_KEY_ID', 'AWS_REGION', 'AWS_SECRET_ACCESS_KEY', 'MEDIA_SIGNING_KEY', 'S3_ENDPOINT'])
  t.equal(env.MEDIA_SIGNING_KEY!.length, 64)

  // 3. the app: the ts block compiled as it is, in a directory inside the package (so `fastify-media` resolves to it)
  const dir = mkdtempSync(join(ROOT, 'test', '.readme-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const js = ts.transpileModule(app, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText
  writeFileSync(join(dir, 'app.mjs'), js)
  const server = start(t, process.execPath, [join(dir, 'app.mjs')], { ...env, PORT: '0' })
  const [, url] = await lineMatching(server.lines, /"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/)

  // 4. an upload through it
  const parts: Part[] = [
    { name: 'avatar', filename: 'me.png', content: fixture('fixture.png'), contentType: 'image/png' },
    { name: 'contract', filename: 'deal.pdf', content: fixture('fixture.pdf'), contentType: 'application/pdf' }
  ]
  const { payload, headers } = multipart(parts)
  const res = await fetch(`${url!}/profiles`, { method: 'POST', body: payload, headers })
  const uploads = await res.json() as { avatar: { name: string, url: string }, contract: { name: string, url: string } }
  t.equal(res.status, 201, JSON.stringify(uploads))
  t.equal(uploads.avatar.name, 'avatars/me.png')
  t.equal(uploads.avatar.url, `http://127.0.0.1:${port}/media/uploads/avatars/me.png`)
  t.match(uploads.contract.url, /X-Amz-Signature=/, 'a presigned URL for the private contract')

  // 5. the objects are in the buckets
  const client = new S3Client({ endpoint: env.S3_ENDPOINT, forcePathStyle: true, region: env.AWS_REGION, credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! } })
  t.teardown(() => client.destroy())
  const avatar = await client.send(new HeadObjectCommand({ Bucket: 'media', Key: 'uploads/avatars/me.png' }))
  t.equal(avatar.ContentLength, fixture('fixture.png').length)
  t.equal(avatar.ContentType, 'image/png')
  const contract = await client.send(new HeadObjectCommand({ Bucket: 'contracts', Key: uploads.contract.name }))
  t.equal(contract.ContentLength, fixture('fixture.pdf').length)
  t.same(Buffer.from(await (await fetch(uploads.contract.url)).arrayBuffer()), fixture('fixture.pdf'), 'the presigned URL serves it')
})

async function output (command: string, args: string[]): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  let text = ''
  child.stdout.on('data', (chunk: Buffer) => { text += chunk.toString() })
  await once(child, 'exit')
  return text.trim()
}
