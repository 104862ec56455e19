// The demo in a real browser (Debian's chromium through playwright-core): what `npm start` shows a new
// user, driven the way a user would: typing, choosing and dropping files, clicking and pressing keys.
// Each test gets its own demo server on temp directories and its own browser context.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import t from 'tap'
import { filesUnder, fixture, tempDir } from '../helpers.js'
import { launchChromium, newPage } from './browser.js'
import { startDemo } from './demo-server.js'

const ARTIFACTS = join(import.meta.dirname, 'artifacts')

const png = fixture('fixture.png') // 200 x 133
const pdf = fixture('fixture.pdf')
const contractPdf = fixture('fixture-minimal.pdf')

/** `YYYY/MM` of the document's `docs/%Y/%m/` directory (UTC). */
const month = (): string => {
  const now = new Date()
  return `${now.getUTCFullYear()}/${String(now.getUTCMonth() + 1).padStart(2, '0')}`
}

/** Drops a file on an element as a file manager would: a DataTransfer carrying it, dragover then drop. */
async function dropFile (page: Page, selector: string, file: { name: string, mimeType: string, buffer: Buffer }): Promise<void> {
  const dataTransfer = await page.evaluateHandle(`(() => {
    const bytes = Uint8Array.from(atob(${JSON.stringify(file.buffer.toString('base64'))}), (c) => c.charCodeAt(0))
    const transfer = new DataTransfer()
    transfer.items.add(new File([bytes], ${JSON.stringify(file.name)}, { type: ${JSON.stringify(file.mimeType)} }))
    return transfer
  })()`)
  await page.dispatchEvent(selector, 'dragover', { dataTransfer })
  await page.dispatchEvent(selector, 'drop', { dataTransfer })
}

/** Clicks "Save profile" and waits for the page the script goes to once the server has saved it. */
async function save (page: Page): Promise<void> {
  await Promise.all([page.waitForURL(/[?&]saved=/), page.click('#submit')])
}

const browser = await launchChromium(t)
if (browser !== undefined) {
  t.test('a dropped PNG and a chosen PDF: the avatar renders and the document link downloads the same bytes', async (t) => {
    const demo = await startDemo(t)
    const { page } = await newPage(t, browser)
    await page.goto(demo.url)
    t.equal(await page.textContent('.empty'), 'No profiles yet.')

    await page.fill('#name', 'Ada Lovelace')
    await dropFile(page, '[data-field="avatar"] [data-dropzone]', { name: 'ada.png', mimeType: 'image/png', buffer: png })
    t.equal(await page.locator('#avatar').evaluate((input) => input.files[0]?.name), 'ada.png', 'the drop fills the input')
    await page.setInputFiles('#document', { name: 'notes.pdf', mimeType: 'application/pdf', buffer: pdf })
    await save(page)

    t.match(await page.textContent('.notice'), 'Profile saved.')
    const avatar = page.locator('.profile img.avatar')
    await avatar.evaluate(async (img) => { await img.decode() })
    t.equal(await avatar.evaluate((img) => img.naturalWidth), 192, 'the avatar\'s thumbnail is decoded and rendered')
    t.equal(await avatar.getAttribute('alt'), 'Avatar of Ada Lovelace')
    const facts = await page.textContent('.profile .facts')
    t.match(facts, 'Avatar: 200 × 133 px, 54.3 kB')
    t.match(facts, 'Document: notes.pdf (PDF, 7.9 kB)')

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('.document-link')])
    t.equal(download.suggestedFilename(), 'notes.pdf')
    t.same(readFileSync(await download.path()), pdf, 'the downloaded document is the uploaded one, byte for byte')

    t.same(filesUnder(demo.mediaRoot), ['avatars/ada.png', 'avatars/ada.png@thumb.webp', `docs/${month()}/notes.pdf`])
    const records = JSON.parse(readFileSync(join(demo.dataDir, 'profiles.json'), 'utf8')) as { profiles: unknown[] }
    t.match(records.profiles, [{ name: 'Ada Lovelace', avatar: 'avatars/ada.png', document: `docs/${month()}/notes.pdf`, contract: null }])

    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'list.png'), fullPage: true })
    // readable on a phone: nothing wider than the screen
    await page.setViewportSize({ width: 360, height: 740 })
    t.equal(await page.evaluate('document.documentElement.scrollWidth'), 360, 'no horizontal scrolling at 360 px')
    await page.screenshot({ path: join(ARTIFACTS, 'list-phone.png'), fullPage: true })
  })

  t.test('an .exe named .png: the avatar field says so, and no file is left on disk', async (t) => {
    const demo = await startDemo(t)
    const { page } = await newPage(t, browser)
    await page.goto(demo.url)
    await page.fill('#name', 'Mallory')
    // the browser believes the name (image/png), so its own check lets it through: the server decides
    await page.setInputFiles('#avatar', { name: 'photo.png', mimeType: 'image/png', buffer: fixture('fixture.exe') })
    await page.setInputFiles('#document', { name: 'notes.pdf', mimeType: 'application/pdf', buffer: pdf })
    await page.click('#submit')

    const error = page.locator('#avatar-error')
    await error.waitFor({ state: 'visible' })
    t.equal(await error.textContent(), 'This file is not a JPEG, PNG, WebP, GIF or AVIF image, whatever its name says.')
    t.equal(await error.getAttribute('data-code'), 'FST_MEDIA_INVALID_TYPE')
    t.equal(await page.getAttribute('#avatar', 'aria-invalid'), 'true')
    t.ok(await page.locator('#avatar').evaluate((input) => input === input.ownerDocument.activeElement), 'focus moves to the field')
    t.ok(await page.isHidden('#document-error'), 'nothing wrong with the document')
    t.ok(await page.isHidden('#progress'))
    t.notOk(await page.isDisabled('#submit'), 'the form can be sent again')

    // the valid PDF was stored first and removed with the failed request: all or nothing
    t.same(filesUnder(demo.mediaRoot), [], 'nothing in the media root, not even a temp file')
    t.same(filesUnder(demo.privateRoot), [])
    await page.reload()
    t.equal(await page.textContent('.empty'), 'No profiles yet.')
  })

  t.test('a file too large for its field is stopped in the browser, before anything is sent', async (t) => {
    const demo = await startDemo(t)
    const { page } = await newPage(t, browser)
    let posts = 0
    page.on('request', (request) => { if (request.method() === 'POST') posts++ })
    await page.goto(demo.url)
    await page.fill('#name', 'Grace')
    await page.setInputFiles('#avatar', { name: 'big.png', mimeType: 'image/png', buffer: Buffer.concat([png, Buffer.alloc(2_000_000)]) })
    t.equal(await page.textContent('#avatar-error'), 'This file is 2.1 MB, larger than 2 MB. Choose a smaller one.')
    t.equal(await page.getAttribute('#avatar-error', 'data-code'), 'client:size')
    await page.setInputFiles('#document', { name: 'scan.jpg', mimeType: 'image/jpeg', buffer: fixture('fixture.jpg') })
    t.equal(await page.textContent('#document-error'), 'This file is not a PDF.')
    await page.click('#submit')
    t.ok(await page.locator('#avatar').evaluate((input) => input === input.ownerDocument.activeElement), 'focus goes to the first field to fix')
    t.equal(posts, 0, 'no request was made')
    t.same(filesUnder(demo.mediaRoot), [])
  })

  t.test('the progress bar reaches 100% for a 20 MB document', async (t) => {
    const demo = await startDemo(t)
    const { page } = await newPage(t, browser)
    const big = join(tempDir(t), 'big.pdf')
    const size = 20_000_000
    writeFileSync(big, Buffer.concat([pdf, Buffer.alloc(size - pdf.length, ' ')]))

    const seen: string[] = []
    await page.exposeFunction('reportProgress', (text: string) => { seen.push(text) })
    await page.goto(demo.url)
    await page.evaluate(`new MutationObserver(() => reportProgress(document.getElementById('progress-text').textContent))
      .observe(document.getElementById('progress-text'), { childList: true, characterData: true, subtree: true })`)
    await page.fill('#name', 'Big Document')
    await page.setInputFiles('#avatar', { name: 'a.png', mimeType: 'image/png', buffer: png })
    await page.setInputFiles('#document', big)
    await save(page)

    const percents = seen.map((text) => Number.parseInt(text, 10))
    t.equal(percents.at(-1), 100, `the last progress shown is 100% (seen: ${seen.join(' ')})`)
    t.same(percents, [...percents].sort((a, b) => a - b), 'it never goes back')
    t.equal(readFileSync(join(demo.mediaRoot, 'docs', month(), 'big.pdf')).length, size)
    t.match(await page.textContent('.profile .facts'), 'Document: big.pdf (PDF, 20 MB)')
  })

  t.test('a private contract behind a signed link; Delete (by keyboard) removes the profile and its files', async (t) => {
    const demo = await startDemo(t)
    const { page } = await newPage(t, browser)
    await page.goto(demo.url)
    await page.fill('#name', 'Charles Babbage')
    await page.setInputFiles('#avatar', { name: 'charles.png', mimeType: 'image/png', buffer: png })
    await page.setInputFiles('#document', { name: 'engine.pdf', mimeType: 'application/pdf', buffer: pdf })
    await page.setInputFiles('#contract', { name: 'contract.pdf', mimeType: 'application/pdf', buffer: contractPdf })
    await save(page)
    t.same(filesUnder(demo.mediaRoot), ['avatars/charles.png', 'avatars/charles.png@thumb.webp', `docs/${month()}/engine.pdf`])
    t.same(filesUnder(demo.privateRoot), ['contracts/contract.pdf'])

    const href = await page.getAttribute('.contract-link', 'href')
    t.match(href, /^\/private\/contracts\/contract\.pdf\?expires=\d+&signature=[\w-]{43}$/)
    const signed = await page.request.get(new URL(href!, demo.url).href)
    t.equal(signed.status(), 200)
    t.same(await signed.body(), contractPdf)
    const forged = await page.request.get(new URL(href!.replace(/signature=(.)/, (_match, first: string) => `signature=${first === 'A' ? 'B' : 'A'}`), demo.url).href)
    t.equal(forged.status(), 403, 'an altered signature is refused')
    t.equal((await page.request.get(new URL('/private/contracts/contract.pdf', demo.url).href)).status(), 403, 'so is no signature')
    const avatarUrl = new URL((await page.getAttribute('.profile img.avatar', 'src'))!, demo.url).href

    await page.focus('.profile button.delete')
    await Promise.all([page.waitForURL(/[?&]deleted=/), page.keyboard.press('Enter')])
    t.match(await page.textContent('.notice'), 'Profile deleted, with its files.')
    t.equal(await page.textContent('.empty'), 'No profiles yet.')
    t.same(filesUnder(demo.mediaRoot), [], 'avatar and document are gone')
    t.same(filesUnder(demo.privateRoot), [], 'the contract too')
    t.equal((await page.request.get(avatarUrl)).status(), 404)
    t.same(JSON.parse(readFileSync(join(demo.dataDir, 'profiles.json'), 'utf8')), { profiles: [] })
  })

  t.test('the page\'s CSS and JS have hashed names, come back immutable and brotli-compressed', async (t) => {
    const demo = await startDemo(t)
    const { page } = await newPage(t, browser)
    const headers = new Map<string, Record<string, string>>()
    const reading: Array<Promise<void>> = []
    page.on('response', (response) => {
      reading.push(response.allHeaders().then((all) => { headers.set(new URL(response.url()).pathname, all) }))
    })
    await page.goto(demo.url, { waitUntil: 'networkidle' })
    await Promise.all(reading)

    const css = new URL((await page.getAttribute('link[rel="stylesheet"]', 'href'))!, demo.url).pathname
    const js = new URL((await page.getAttribute('script[type="module"]', 'src'))!, demo.url).pathname
    t.match(css, /^\/static\/css\/app\.[0-9a-f]{12}\.css$/)
    t.match(js, /^\/static\/js\/upload\.[0-9a-f]{12}\.js$/)
    // the logo, referenced by url() in the CSS, was rewritten to its hashed name by collectstatic
    const logo = [...headers.keys()].find((path) => path.startsWith('/static/img/'))
    t.match(logo, /^\/static\/img\/logo\.[0-9a-f]{12}\.svg$/)
    for (const path of [css, js, logo!]) {
      const got = headers.get(path)
      t.ok(got, `${path} was requested`)
      t.equal(got?.['cache-control'], 'public, max-age=31536000, immutable', `${path}: cache-control`)
      t.equal(got?.['content-encoding'], 'br', `${path}: content-encoding`)
    }
    // and they are in use: the stylesheet styled the page, the script took over the form
    t.equal(await page.evaluate('getComputedStyle(document.querySelector(".dropzone")).borderStyle'), 'dashed')
    await page.setInputFiles('#document', { name: 'x.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') })
    t.equal(await page.getAttribute('#document-error', 'data-code'), 'client:type')
  })
  t.test('/documentation shows the upload route as a form with its file fields, and its Execute stores the upload', async (t) => {
    const demo = await startDemo(t)
    const { page } = await newPage(t, browser)
    await page.goto(`${demo.url}documentation`)
    const route = page.locator('.opblock-post', { has: page.locator('.opblock-summary-path', { hasText: /^\/profiles$/ }) })
    await route.locator('.opblock-summary').click()
    t.equal(await route.locator('select.content-type').inputValue(), 'multipart/form-data')
    await route.locator('.try-out__btn').click()
    const field = (name: string) => route.locator(`tr[data-property-name="${name}"]`)
    t.match(await field('avatar').textContent(), 'Up to 2 MB. Accepted types: image/jpeg, image/png, image/webp, image/gif, image/avif.')
    t.match(await field('document').textContent(), 'Up to 25 MB. Accepted types: application/pdf.')
    t.equal(await field('avatar').locator('.parameter__name.required').count(), 1, 'the avatar is required')
    t.equal(await field('document').locator('.parameter__name.required').count(), 0, 'the document is optional')

    await field('name').locator('input').fill('Grace Hopper')
    await field('avatar').locator('input[type=file]').setInputFiles({ name: 'grace.png', mimeType: 'image/png', buffer: png })
    await field('document').locator('input[type=file]').setInputFiles({ name: 'cobol.pdf', mimeType: 'application/pdf', buffer: pdf })
    await route.locator('button.execute').click()
    // the demo answers a request without Accept: application/json with a 303 to the list, which fetch follows
    const status = route.locator('.live-responses-table tr.response .response-col_status')
    await status.waitFor()
    t.match(await status.textContent(), /^\s*200\b/, await route.locator('.live-responses-table').textContent() ?? '')
    t.same(filesUnder(demo.mediaRoot), ['avatars/grace.png', 'avatars/grace.png@thumb.webp', `docs/${month()}/cobol.pdf`])
    const records = JSON.parse(readFileSync(join(demo.dataDir, 'profiles.json'), 'utf8')) as { profiles: unknown[] }
    t.match(records.profiles, [{ name: 'Grace Hopper', avatar: 'avatars/grace.png', document: `docs/${month()}/cobol.pdf` }])
  })
}
