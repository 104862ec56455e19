// Resumable uploads in a real browser: the demo's recording field, sent by the page's script to the tus
// endpoint app.media.resumable mounts (tus-js-client's browser build, served as a static file of the demo),
// cut in the middle, resumed from where the server stopped, then committed by the form.
// notes/resumable-browser.md says what chromium does with a request in flight when the page goes offline.
import { createHash, randomBytes } from 'node:crypto'
import { EventEmitter, once } from 'node:events'
import { createWriteStream, readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import sharp from 'sharp'
import t from 'tap'
import { filesUnder, fixture, tempDir, type Tap } from '../helpers.js'
import { launchChromium, newPage } from './browser.js'
import { startDemo, type Demo } from './demo-server.js'

const month = (): string => {
  const now = new Date()
  return `${now.getUTCFullYear()}/${String(now.getUTCMonth() + 1).padStart(2, '0')}`
}

/** An MP4 as file-type reads it (an `ftyp` box, then one `mdat` box holding random bytes), and its sha256. */
async function writeMp4 (path: string, size: number): Promise<string> {
  const ftyp = Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex')
  const mdat = Buffer.alloc(8)
  mdat.writeUInt32BE(size - ftyp.length)
  mdat.write('mdat', 4)
  const hash = createHash('sha256')
  const out = createWriteStream(path)
  const write = async (chunk: Buffer): Promise<void> => {
    hash.update(chunk)
    if (!out.write(chunk)) await once(out, 'drain')
  }
  await write(Buffer.concat([ftyp, mdat]))
  for (let left = size - ftyp.length - mdat.length; left > 0; left -= 2 ** 20) await write(randomBytes(Math.min(left, 2 ** 20)))
  out.end()
  await once(out, 'close')
  return hash.digest('hex')
}

const sha256Of = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex')

/** A PATCH as the demo's server saw it: where it started, how many bytes it read (its head included), and how it ended. */
interface Patch {
  offset: number
  read: number
  /** 'complete' (the whole body came), 'aborted' (the client went) or 'cut' (the server cut it). */
  end?: 'complete' | 'aborted' | 'cut'
}

/**
 * The demo, with a record of what its server reads: every byte from its sockets, and each PATCH to the tus
 * endpoint. Until `unthrottle()`, each connection is read at 8 MiB/s at most, so that an upload of tens of
 * MiB is still going when the test cuts it (on loopback it takes a fraction of a second): a slow reader slows
 * the browser down as a slow link would (notes/resumable-browser.md says why not chromium's own throttling).
 * `cutAt(bytes)`: the server destroys the socket of the first PATCH once it has read that many of its bytes,
 * as a dropped connection would.
 */
async function watchedDemo (t: Tap, { cutAt }: { cutAt?: number } = {}) {
  const demo = await startDemo(t)
  let rate = 8 * 2 ** 20
  let received = 0
  const events = new EventEmitter()
  const patches: Patch[] = []
  const timers = new Set<NodeJS.Timeout>()
  t.teardown(() => { for (const timer of timers) clearTimeout(timer) })
  // sockets paused by hold(): the server reads nothing more until release()
  let held: Set<Socket> | undefined
  demo.app.server.on('connection', (socket) => socket.on('data', (chunk: Buffer) => {
    received += chunk.length
    events.emit('received', received)
    if (held !== undefined) {
      socket.pause()
      held.add(socket)
      return
    }
    if (rate === Infinity) return
    socket.pause()
    const timer = setTimeout(() => {
      timers.delete(timer)
      socket.resume()
    }, (chunk.length / rate) * 1000)
    timers.add(timer)
  }))
  // where each connection's current request starts: the bytes it had read when its last request ended (a
  // browser sends the next request only after the answer)
  const starts = new WeakMap<Socket, number>()
  demo.app.server.on('request', (req: IncomingMessage) => {
    const socket = req.socket
    req.on('close', () => starts.set(socket, socket.bytesRead))
    if (req.method !== 'PATCH') return
    // counted from the start of the request, so the body bytes that came in the head's chunk are in
    const start = starts.get(socket) ?? 0
    const patch: Patch = { offset: Number(req.headers['upload-offset']), read: socket.bytesRead - start }
    patches.push(patch)
    const cut = cutAt !== undefined && patches.length === 1
    const reading = (): void => {
      patch.read = socket.bytesRead - start
      if (cut && patch.read >= cutAt) {
        patch.end = 'cut'
        req.socket.destroy()
      }
    }
    req.socket.on('data', reading)
    req.on('close', () => {
      // the connection may carry the next request
      req.socket.off('data', reading)
      patch.end ??= req.complete ? 'complete' : 'aborted'
      events.emit('patch-closed', patch)
    })
  })
  return {
    ...demo,
    patches,
    received: () => received,
    unthrottle: () => { rate = Infinity },
    /**
     * The server stops reading: the browser's upload stalls where it is, however slow the machine, until
     * `release()` reads on (unthrottled), so what the page does meanwhile (reload, go offline) is sure to
     * happen while the PATCH is still going.
     */
    hold: () => { held ??= new Set() },
    release: () => {
      const sockets = held ?? new Set()
      held = undefined
      rate = Infinity
      for (const socket of sockets) socket.resume()
    },
    /** Resolves once the server has read `bytes` more than it had when called. */
    receives: async (bytes: number): Promise<void> => {
      const target = received + bytes
      await new Promise<void>((resolve) => {
        const check = (now: number): void => {
          if (now < target) return
          events.off('received', check)
          resolve()
        }
        events.on('received', check)
      })
    },
    /** Resolves with the next PATCH the server is done with. */
    patchClosed: async (): Promise<Patch> => (await once(events, 'patch-closed'))[0] as Patch
  }
}

/** The uploads waiting in the media root's .resumable/ (their bytes and their records). */
const waiting = (demo: Demo): string[] => filesUnder(join(demo.mediaRoot, '.resumable'))

/** Every text the recording's progress bar shows, in order. */
async function watchProgress (page: Page): Promise<string[]> {
  const seen: string[] = []
  await page.exposeFunction('reportProgress', (text: string) => { seen.push(text) })
  await page.evaluate(`new MutationObserver(() => reportProgress(document.getElementById('recording-progress-text').textContent))
    .observe(document.getElementById('recording-progress-text'), { childList: true, characterData: true, subtree: true })`)
  return seen
}

/** Waits for the page the script goes to once the server has saved the form; fails with the page's message instead. */
async function saved (page: Page): Promise<void> {
  const shown = page.locator('.error:not([hidden]), .form-error:not([hidden])').first()
  const message = await Promise.race([
    page.waitForURL(/[?&]saved=/, { timeout: 60_000 }).then(() => undefined),
    shown.waitFor({ state: 'visible', timeout: 60_000 }).then(async () => await shown.textContent())
  ])
  if (message !== undefined) throw new Error(`the page shows: ${message}`)
}

/** The tus URLs the page holds in localStorage (tus-js-client's fingerprints). */
const storedUploads = async (page: Page): Promise<string[]> =>
  await page.evaluate('Object.keys(localStorage).filter((key) => key.startsWith("tus::"))') as string[]

const browser = await launchChromium(t)
if (browser !== undefined) {
  // a tiny avatar (the field is required)
  const avatar = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#0b57d0' } }).png().toBuffer()
  const size = 40 * 2 ** 20

  /** The page, its form filled in with the avatar and the recording, ready to be sent. */
  async function fill (page: Page, demo: Demo, recording: string): Promise<void> {
    await page.goto(demo.url)
    await page.fill('#name', 'Ada Lovelace')
    await page.setInputFiles('#avatar', { name: 'ada.png', mimeType: 'image/png', buffer: avatar })
    await page.setInputFiles('#recording', recording)
  }

  /** The recording is saved, byte for byte, and nothing of the upload waits any more. */
  async function checkSaved (t: Tap, page: Page, demo: Demo, sha256: string): Promise<void> {
    t.same(filesUnder(demo.mediaRoot).filter((name) => !name.startsWith('avatars/')), [`recordings/${month()}/clip.mp4`], 'stored under the field\'s uploadTo')
    const stored = join(demo.mediaRoot, 'recordings', month(), 'clip.mp4')
    t.equal(sha256Of(stored), sha256, 'the stored recording is the chosen file, byte for byte')
    t.same(waiting(demo), [], '.resumable/ is empty')
    const records = JSON.parse(readFileSync(join(demo.dataDir, 'profiles.json'), 'utf8')) as { profiles: unknown[] }
    t.match(records.profiles, [{ name: 'Ada Lovelace', recording: `recordings/${month()}/clip.mp4` }], 'the record names it')
    t.match(await page.textContent('.profile .facts'), 'Recording: clip.mp4 (41.9 MB)', 'the list shows it')
    t.same(await storedUploads(page), [], 'tus-js-client forgot the finished upload\'s URL')
  }

  /** The page's requests to the tus endpoint, as `METHOD /uploads/<id> @offset`. */
  function tusRequests (page: Page): string[] {
    const requests: string[] = []
    page.on('request', (request) => {
      const path = new URL(request.url()).pathname
      if (!path.startsWith('/uploads')) return
      const offset = request.method() === 'PATCH' ? ` @${request.headers()['upload-offset']}` : ''
      requests.push(`${request.method()} ${path.replace(/[0-9a-f]{32}$/, '<id>')}${offset}`)
    })
    return requests
  }

  /** How many bytes of its one waiting upload the server has, from a HEAD as a tus client sends it. */
  async function keptBytes (demo: Demo): Promise<number> {
    const ids = waiting(demo).filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -5))
    if (ids.length !== 1) throw new Error(`one upload should wait in .resumable/, not: ${ids.join(', ')}`)
    const head = await fetch(new URL(`/uploads/${ids[0]}`, demo.url), { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } })
    return Number(head.headers.get('upload-offset'))
  }

  t.test('offline in the middle: the upload stops, goes on from the server\'s offset once online, and the form commits it', async (t) => {
    const demo = await watchedDemo(t)
    const recording = join(tempDir(t), 'clip.mp4')
    const sha256 = await writeMp4(recording, size)
    const { page, context } = await newPage(t, browser)
    const requests = tusRequests(page)
    const before = demo.received()
    const firstClosed = demo.patchClosed()
    await fill(page, demo, recording)
    const seen = await watchProgress(page)
    await page.click('#submit')

    await demo.receives(size / 4)
    demo.hold()
    await context.setOffline(true)
    demo.release()
    const first = await firstClosed
    t.equal(first.end, 'aborted', 'the page stopped its PATCH when the browser went offline')
    await page.locator('#recording-status').waitFor({ state: 'visible' })
    t.equal(await page.textContent('#recording-status'), 'Offline: the upload goes on from where it stopped once the connection is back.', 'the page says why it waits')
    // the stall: the PATCH in flight is gone, and no request leaves the page
    const stalled = demo.received()
    t.equal(await page.evaluate('fetch("/").then(() => "sent", () => "failed")'), 'failed', 'offline: a request fails at once')
    t.equal(demo.received(), stalled, 'the server reads nothing more while the page is offline')
    const kept = await keptBytes(demo)
    t.ok(kept > 0 && kept < size, `the server kept ${kept} of ${size} bytes`)

    demo.unthrottle()
    await context.setOffline(false)
    await saved(page)
    t.same(requests, ['POST /uploads', 'PATCH /uploads/<id> @0', 'HEAD /uploads/<id>', `PATCH /uploads/<id> @${kept}`],
      'created once; back online, a HEAD asks where to go on and one PATCH sends the rest')
    t.same(demo.patches.map(({ offset, end }) => ({ offset, end })), [{ offset: 0, end: 'aborted' }, { offset: kept, end: 'complete' }], 'the server\'s side of it')
    const read = demo.received() - before
    t.ok(read < size * 1.2, `the server read ${read} bytes for a ${size}-byte file: nothing started over`)
    t.equal(Number.parseInt(seen.at(-1)!, 10), 100, `the progress bar ends at 100% (seen: ${seen.join(' ')})`)
    t.ok(await page.isHidden('#recording-status'), 'the offline line is gone')
    await checkSaved(t, page, demo, sha256)
  })

  t.test('a connection dropped in the middle while the browser stays online: tus-js-client retries from the server\'s offset', async (t) => {
    const demo = await watchedDemo(t, { cutAt: size / 4 })
    const recording = join(tempDir(t), 'clip.mp4')
    const sha256 = await writeMp4(recording, size)
    const { page } = await newPage(t, browser)
    const requests = tusRequests(page)
    const before = demo.received()
    const firstClosed = demo.patchClosed()
    await fill(page, demo, recording)
    await page.click('#submit')
    const first = await firstClosed
    t.equal(first.end, 'cut', 'the server dropped the first PATCH')
    demo.unthrottle()
    await saved(page)

    t.equal(requests.length, 4, requests.join(', '))
    const resumedAt = Number(/@(\d+)$/.exec(requests[3]!)?.[1])
    t.same(requests, ['POST /uploads', 'PATCH /uploads/<id> @0', 'HEAD /uploads/<id>', `PATCH /uploads/<id> @${resumedAt}`], 'a retry: HEAD, then the rest')
    t.ok(resumedAt > 0 && resumedAt <= first.read, `the retry starts at ${resumedAt}: what the server kept of the ${first.read} bytes it read before the drop`)
    const read = demo.received() - before
    t.ok(read < size * 1.2, `the server read ${read} bytes for a ${size}-byte file`)
    await checkSaved(t, page, demo, sha256)
  })

  t.test('the page reloaded in the middle: the same file chosen again goes on from where it stopped', async (t) => {
    const demo = await watchedDemo(t)
    const recording = join(tempDir(t), 'clip.mp4')
    const sha256 = await writeMp4(recording, size)
    const { page } = await newPage(t, browser)
    const requests = tusRequests(page)
    const firstClosed = demo.patchClosed()
    await fill(page, demo, recording)
    await page.click('#submit')
    await demo.receives(size / 4)
    demo.hold()
    t.equal((await storedUploads(page)).length, 1, 'tus-js-client keeps the upload\'s URL under the file\'s fingerprint')
    await page.reload()
    demo.release()
    t.equal((await firstClosed).end, 'aborted', 'the reload ended the PATCH')
    const kept = await keptBytes(demo)
    t.ok(kept > 0 && kept < size, `the server kept ${kept} of ${size} bytes`)

    demo.unthrottle()
    await fill(page, demo, recording)
    await page.click('#submit')
    await saved(page)
    t.same(requests, ['POST /uploads', 'PATCH /uploads/<id> @0', 'HEAD /uploads/<id>', `PATCH /uploads/<id> @${kept}`], 'no new upload: a HEAD, then the rest')
    await checkSaved(t, page, demo, sha256)
  })

  t.test('an ELF named clip.mp4 is refused by the endpoint: the recording field says so, the form is not sent, nothing is left', async (t) => {
    const demo = await watchedDemo(t)
    const { page } = await newPage(t, browser)
    const requests = tusRequests(page)
    let forms = 0
    page.on('request', (request) => { if (request.method() === 'POST' && new URL(request.url()).pathname === '/profiles') forms++ })
    await page.goto(demo.url)
    await page.fill('#name', 'Mallory')
    await page.setInputFiles('#avatar', { name: 'm.png', mimeType: 'image/png', buffer: avatar })
    // the browser believes the name, so its own check lets it through: the endpoint reads the first bytes
    await page.setInputFiles('#recording', { name: 'clip.mp4', mimeType: 'video/mp4', buffer: fixture('fixture.elf') })
    await page.click('#submit')

    const error = page.locator('#recording-error')
    await error.waitFor({ state: 'visible' })
    t.equal(await error.textContent(), 'This file is not an MP4 or WebM video, whatever its name says.', 'the demo\'s words, not the plugin\'s')
    t.equal(await error.getAttribute('data-code'), 'FST_MEDIA_INVALID_TYPE')
    t.equal(await page.getAttribute('#recording', 'aria-invalid'), 'true')
    t.ok(await page.isHidden('#recording-progress'), 'no progress bar next to a refusal')
    t.notOk(await page.isDisabled('#submit'), 'the form can be sent again')
    t.same(requests, ['POST /uploads', 'PATCH /uploads/<id> @0'], 'refused at its first PATCH, and not retried')
    t.equal(forms, 0, 'the form was not sent')
    t.same(filesUnder(demo.mediaRoot), [], 'nothing in the media root, .resumable/ included')
    await page.reload()
    t.equal(await page.textContent('.empty'), 'No profiles yet.', 'no profile was saved')
  })
}
