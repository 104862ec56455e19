import t from 'tap'
import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { FileField, FileSystemStorage } from '../../lib/index.js'
import { strftime } from '../../lib/fields/strftime.js'
import { filesUnder, fixture, makeApp, multipart, tempDir, type Tap } from '../helpers.js'

const pdf = fixture('fixture.pdf')
// the handler refuses unless the form says ok=yes: the file is stored by then, and the rollback removes it
async function docsApp (t: Tap): Promise<{ app: FastifyInstance, root: string }> {
  const { app, dir } = await makeApp(t)
  const Doc = app.media.model('doc', {
    file: FileField({ uploadTo: 'docs/%Y/%m/', accept: ['application/pdf'] }),
    copy: FileField({ uploadTo: (c) => `rounds/${c.request!.params.round!}/in/`, accept: ['application/pdf'], required: false })
  })
  const handler = async (req: { body: unknown }, reply: { code: (n: number) => { send: (b: unknown) => unknown } }): Promise<unknown> =>
    (req.body as { ok?: string }).ok === 'yes' ? reply.code(201).send({}) : reply.code(422).send({ code: 'REFUSED' })
  app.post('/docs', { upload: Doc }, handler)
  app.post('/rounds/:round', { upload: Doc }, handler)
  return { app, root: join(dir, 'media') }
}

const send = async (app: FastifyInstance, url: string, ok: boolean, copy = false) => {
  const form = multipart([
    { name: 'ok', content: ok ? 'yes' : 'no' },
    { name: 'file', filename: 'a.pdf', content: pdf, contentType: 'application/pdf' },
    ...(copy ? [{ name: 'copy', filename: 'b.pdf', content: pdf, contentType: 'application/pdf' }] : [])
  ])
  return await app.inject({ method: 'POST', url, ...form })
}
const month = (): string => strftime('docs/%Y/%m', new Date())
const emptyDirs = (root: string): string[] => dirsUnder(root).filter((dir) => dir !== '.tmp' && readdirSync(join(root, dir)).length === 0)
const dirsUnder = (root: string): string[] => readdirSync(root, { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isDirectory()).map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1)).sort()

t.test('a refused upload into a new %Y/%m directory leaves no directory it made', async (t) => {
  const { app, root } = await docsApp(t)
  const res = await send(app, '/docs', false)
  t.equal(res.statusCode, 422)
  t.same(filesUnder(root), [], 'the file is gone')
  t.same(dirsUnder(root), ['.tmp'], `docs/, ${month()}/ are gone (${dirsUnder(root).join(', ')})`)
})

t.test('a refused upload keeps the directories it did not make: an empty one made before, and one holding files', async (t) => {
  const { app, root } = await docsApp(t)
  mkdirSync(join(root, 'docs'), { recursive: true })
  t.equal((await send(app, '/docs', false)).statusCode, 422)
  t.same(dirsUnder(root), ['.tmp', 'docs'], 'docs/ existed: it stays, empty; what the request made under it goes')

  t.equal((await send(app, '/docs', true)).statusCode, 201)
  const kept = filesUnder(root)
  t.equal(kept.length, 1)
  t.equal((await send(app, '/docs', false)).statusCode, 422)
  t.same(filesUnder(root), kept, `${month()}/ holds a kept file, and stays with it`)
})

t.test('a request refused after two files made the same new directory removes it once', async (t) => {
  const { app, root } = await docsApp(t)
  const res = await send(app, '/rounds/1', false, true)
  t.equal(res.statusCode, 422)
  t.same(dirsUnder(root), ['.tmp'])
})

t.test('many uploads into the same new directories, half of them refused: every accepted file is stored', async (t) => {
  const { app, root } = await docsApp(t)
  const ROUNDS = 25
  const EACH = 12
  for (let round = 0; round < ROUNDS; round++) {
    // refused and accepted requests alternate, each making or finding rounds/<round>/in/ and docs/%Y/%m/
    const replies = await Promise.all(Array.from({ length: EACH }, async (_, i) => await send(app, `/rounds/${round}`, i % 2 === 0, true)))
    const codes = replies.map((res) => res.statusCode)
    t.same(codes, Array.from({ length: EACH }, (_, i) => i % 2 === 0 ? 201 : 422), `round ${round}: ${replies.filter((res) => res.statusCode >= 500).map((res) => res.body).join(' ')}`)
    t.equal(filesUnder(join(root, 'rounds', String(round))).length, EACH / 2, `round ${round}: one copy for each accepted request`)
    if (codes.some((code) => code >= 500)) break
  }
  t.equal(filesUnder(root).filter((name) => name.startsWith('docs/')).length, ROUNDS * EACH / 2)
  t.same(emptyDirs(root), [], 'no directory is left empty')
})

t.test('saves and rollbacks racing in the same new directories: every save succeeds, and nothing is left', async (t) => {
  const storage = new FileSystemStorage({ location: tempDir(t) })
  const failures: string[] = []
  // each worker saves (staged, as a request does) and deletes again before publishing (a rollback), so the
  // directories are made and removed over and over while the other workers are saving into them
  await Promise.all(Array.from({ length: 4 }, async () => {
    for (let i = 0; i < 500; i++) {
      try {
        await storage.delete(await storage.save('a/b/c/x.txt', Buffer.from('x'), { stage: true }))
      } catch (err) {
        failures.push(String(err))
      }
    }
  }))
  t.same(failures, [])
  t.same(dirsUnder(storage.location), ['.tmp'], 'a/b/c/, a/b/, a/ are gone')
  // a published file's directories are the app's: deleting it later leaves them
  const kept = await storage.save('a/b/c/x.txt', Buffer.from('x'), { stage: true })
  await storage.publish(kept)
  await storage.delete(kept)
  t.same(dirsUnder(storage.location), ['.tmp', 'a', 'a/b', 'a/b/c'])
})

t.test('the disk driver makes a directory again when it goes between its mkdir and its link', async (t) => {
  const { driver } = new FileSystemStorage({ location: tempDir(t) })
  const made: string[] = []
  // the directory goes as soon as the write has made it (what another request's rollback may do): the link
  // then finds no directory, once
  const created = (dir: string): void => {
    made.push(dir)
    if (dir === 'a/b' && made.length === 2) rmdirSync(join(driver.root, dir))
  }
  t.equal(await driver.write('a/b/c.txt', Buffer.from('x'), { ifAbsent: true, created }), true)
  t.same(made, ['a', 'a/b', 'a/b'], 'a/b made twice')
  t.equal(readFileSync(join(driver.root, 'a/b/c.txt'), 'utf8'), 'x')
})

t.test('a move whose source is missing fails with ENOENT after its tries, and leaves no file', async (t) => {
  const { driver } = new FileSystemStorage({ location: tempDir(t) })
  await t.rejects(driver.move('.tmp/gone', 'a/b.txt'), { code: 'ENOENT' })
  t.same(filesUnder(driver.root), [])
})

t.test('a rollback whose directories someone else removed first (another process\'s sweep) succeeds all the same', async (t) => {
  const { app, dir } = await makeApp(t)
  const root = join(dir, 'media')
  const Doc = app.media.model('doc', { file: FileField({ uploadTo: 'docs/%Y/%m/', accept: ['application/pdf'] }) })
  app.post('/docs', { upload: Doc }, async (_req, reply) => {
    rmSync(join(root, 'docs'), { recursive: true })
    return await reply.code(422).send({ code: 'REFUSED' })
  })
  const res = await app.inject({ method: 'POST', url: '/docs', ...multipart([{ name: 'file', filename: 'a.pdf', content: pdf, contentType: 'application/pdf' }]) })
  t.equal(res.statusCode, 422, 'the handler\'s reply, not a storage error')
  t.same(dirsUnder(root), ['.tmp'])
})
