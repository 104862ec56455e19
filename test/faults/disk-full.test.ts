// A disk that fills up mid-upload: the media root on a 1 MiB tmpfs (the tests run as root and mount it).
// The upload that does not fit is 500 FST_MEDIA_STORAGE with ENOSPC as its cause, leaves nothing behind,
// and the next upload that fits is stored.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { FileField, FileSystemStorage } from '../../lib/index.js'
import { filesUnder, fixture, makeApp, multipart, tempDir, type Tap } from '../helpers.js'

const MiB = 1024 * 1024
const pdf = (size: number): Buffer => Buffer.concat([fixture('fixture.pdf'), Buffer.alloc(size - fixture('fixture.pdf').length)])

/** A 1 MiB tmpfs, unmounted at teardown; undefined (the test planned 0, or failed under CI) when mounting is not allowed. */
function smallDisk (t: Tap): string | undefined {
  const dir = join(tempDir(t), 'disk')
  mkdirSync(dir)
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { encoding: 'utf8' })
  if (mounted.status !== 0) {
    const why = `cannot mount a tmpfs here (${(mounted.stderr || String(mounted.error)).trim()}): the disk-full test needs root`
    if (process.env.CI === 'true') t.fail(`the disk-full test cannot run under CI: ${why}`)
    else t.plan(0, `skipping: ${why}`)
    return undefined
  }
  // after the app has closed (teardowns run last-registered first): nothing holds a file there any more
  t.teardown(() => { spawnSync('umount', ['-l', dir]) })
  return dir
}

t.test('disk full mid-upload: 500 FST_MEDIA_STORAGE (ENOSPC), nothing left on the disk, and the next upload that fits is stored', async (t) => {
  const disk = smallDisk(t)
  if (disk === undefined) return
  const { app } = await makeApp(t, { storages: { default: new FileSystemStorage({ location: disk, baseUrl: '/media/' }) } })
  const Doc = app.media.model('doc', { file: FileField({ uploadTo: 'docs/', accept: ['application/pdf'], maxSize: '10 MB' }) })
  app.post('/docs', { upload: Doc }, async (req, reply) => await reply.code(201).send(req.uploads))
  const upload = async (size: number) => await app.inject({ method: 'POST', url: '/docs', ...multipart([{ name: 'file', filename: 'a.pdf', content: pdf(size), contentType: 'application/pdf' }]) })

  const full = await upload(2 * MiB)
  t.equal(full.statusCode, 500)
  t.match(full.json(), { code: 'FST_MEDIA_STORAGE', message: /^storages\.default: storage failed \(save: .*ENOSPC/ })
  t.same(filesUnder(disk), [], 'no partial file, in .tmp/ or under a name')
  t.same(readdirSync(disk).filter((entry) => entry !== '.tmp'), [], 'no directory made for it either')

  const fits = await upload(256 * 1024)
  t.equal(fits.statusCode, 201, fits.body)
  t.same(filesUnder(disk), ['docs/a.pdf'], 'the next upload is stored')
})
