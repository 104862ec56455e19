// Hostile storage situations: a planted symlink, a race for one name, a disk that refuses the write.
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { filesUnder, tempDir } from '../helpers.js'
import { assertAlive, assertFiles, assertRefused, form, post, safeJson, startServer } from './harness.js'
import { png } from './payloads.js'

const PNG = png(16, 16)
const SENTINEL = 'root:x:0:0:root:/root:/bin/bash\n'

t.test('a symlink planted at the target name is never written through: the upload gets another name', async (t) => {
  const server = await startServer(t)
  // a stand-in for /etc/passwd outside the root (the suite may run as root: never aim at the real one)
  const outside = join(tempDir(t), 'passwd')
  writeFileSync(outside, SENTINEL)
  mkdirSync(join(server.roots.media, 'docs'))
  symlinkSync(outside, join(server.roots.media, 'docs/x.png'))
  const res = await post(server, form([{ name: 'doc', filename: 'x.png', content: PNG }]))
  t.equal(res.status, 201)
  const name = safeJson(res.body).doc.name as string
  t.match(name, /^docs\/x_[A-Za-z0-9]{7}\.png$/, 'a fresh name next to the link')
  t.equal(readFileSync(outside, 'utf8'), SENTINEL, 'the file behind the link is untouched')
  t.same(readFileSync(join(server.roots.media, name)), PNG)
  await assertFiles(t, server, ['media/docs/x.png', `media/${name}`])
  await assertAlive(t, server)
})

t.test('a symlink planted at the real /etc/passwd name is not followed either', async (t) => {
  const server = await startServer(t)
  const before = readFileSync('/etc/passwd')
  mkdirSync(join(server.roots.media, 'docs'))
  symlinkSync('/etc/passwd', join(server.roots.media, 'docs/passwd.png'))
  const res = await post(server, form([{ name: 'doc', filename: 'passwd.png', content: PNG }]))
  t.equal(res.status, 201)
  t.match(safeJson(res.body).doc.name, /^docs\/passwd_[A-Za-z0-9]{7}\.png$/)
  t.same(readFileSync('/etc/passwd'), before)
})

t.test('a symlinked directory that leads out of the root is refused: 500 FST_MEDIA_STORAGE, nothing written outside', async (t) => {
  const server = await startServer(t)
  const outside = tempDir(t)
  symlinkSync(outside, join(server.roots.media, 'docs'))
  const res = await post(server, form([{ name: 'doc', filename: 'x.png', content: PNG }]))
  await assertRefused(t, server, res, 500, 'FST_MEDIA_STORAGE', ['media/docs'])
  t.same(filesUnder(outside), [], 'nothing outside the root')
})

t.test('a directory an earlier save verified, swapped for a symlink out of the root before the next save: refused, nothing written outside', async (t) => {
  const server = await startServer(t)
  // the first save makes docs/ and checks it: any check this process remembers would be about that directory
  const first = await post(server, form([{ name: 'doc', filename: 'a.png', content: PNG }]))
  t.equal(first.status, 201)
  t.equal(safeJson(first.body).doc.name, 'docs/a.png')
  const outside = tempDir(t)
  renameSync(join(server.roots.media, 'docs'), join(server.roots.media, 'moved'))
  symlinkSync(outside, join(server.roots.media, 'docs'))
  const res = await post(server, form([{ name: 'doc', filename: 'b.png', content: PNG }]))
  await assertRefused(t, server, res, 500, 'FST_MEDIA_STORAGE', ['media/docs', 'media/moved/a.png'])
  t.same(filesUnder(outside), [], 'nothing written through the link')
})

t.test('the scratch directory .tmp/, made and checked by an earlier save, swapped for a symlink out of the root: the next save is refused, nothing written outside', async (t) => {
  const server = await startServer(t)
  const first = await post(server, form([{ name: 'doc', filename: 'a.png', content: PNG }]))
  t.equal(first.status, 201)
  const outside = tempDir(t)
  renameSync(join(server.roots.media, '.tmp'), join(server.roots.media, 'old-tmp'))
  symlinkSync(outside, join(server.roots.media, '.tmp'))
  const res = await post(server, form([{ name: 'doc', filename: 'b.png', content: PNG }]))
  await assertRefused(t, server, res, 500, 'FST_MEDIA_STORAGE', ['media/.tmp', 'media/docs/a.png'])
  t.same(filesUnder(outside), [], 'no scratch file written through the link')
})

t.test('two concurrent uploads of one name get two names and both files are whole', async (t) => {
  const server = await startServer(t)
  const a = png(16, 16, Buffer.alloc(20_000, 1))
  const b = png(16, 16, Buffer.alloc(20_000, 2))
  const [ra, rb] = await Promise.all([a, b].map((content) => post(server, form([{ name: 'doc', filename: 'same.png', content }]))))
  t.equal(ra!.status, 201)
  t.equal(rb!.status, 201)
  const names = [safeJson(ra!.body).doc.name, safeJson(rb!.body).doc.name] as string[]
  t.not(names[0], names[1])
  t.ok(names.includes('docs/same.png'))
  t.same(readFileSync(join(server.roots.media, names[0]!)), a)
  t.same(readFileSync(join(server.roots.media, names[1]!)), b)
  await assertFiles(t, server, names.map((name) => `media/${name}`))
})

// Running as root makes chmod 0o555 meaningless, so the refusal is a file where a directory must be:
// ENOTDIR whatever the user, from the temp dir or from the target directory.
t.test('a disk that refuses the write (a file where the temp dir must be): 500 FST_MEDIA_STORAGE, nothing half-written', async (t) => {
  const server = await startServer(t)
  writeFileSync(join(server.roots.media, '.tmp'), 'not a directory')
  const res = await post(server, form([{ name: 'doc', filename: 'x.png', content: PNG }]))
  await assertRefused(t, server, res, 500, 'FST_MEDIA_STORAGE', ['media/.tmp'])
  t.match(safeJson(res.body).message, /ENOTDIR|EEXIST/)
})

t.test('a disk that refuses the final name (a file where the upload directory must be): the written temp file is removed', async (t) => {
  const server = await startServer(t)
  writeFileSync(join(server.roots.media, 'docs'), 'not a directory')
  const res = await post(server, form([{ name: 'doc', filename: 'x.png', content: png(16, 16, Buffer.alloc(200_000)) }]))
  await assertRefused(t, server, res, 500, 'FST_MEDIA_STORAGE', ['media/docs'])
})
