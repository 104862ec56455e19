import t from 'tap'
import { planName, type UploadTo } from '../lib/fields/upload-to.js'
import { strftime } from '../lib/fields/strftime.js'

const date = new Date(Date.UTC(2026, 10, 2, 3, 4, 5)) // 2026-11-02 03:04:05 UTC
const ctx = { filename: 'report.pdf', field: 'document', model: 'profile', date }
const plan = (uploadTo: UploadTo, extra: { timeZone?: string, maxLength?: number } = {}) =>
  planName({ uploadTo, ctx, ext: 'pdf', maxLength: extra.maxLength ?? 255, timeZone: extra.timeZone })

t.test('strftime codes, UTC by default', async (t) => {
  t.equal(strftime('%Y/%m/%d %H:%M:%S %y %j %%', date), '2026/11/02 03:04:05 26 306 %')
  t.equal(strftime('plain', date), 'plain')
  t.equal(strftime('%Y-%m-%d %H', date, 'Asia/Tokyo'), '2026-11-02 12')
  t.equal(strftime('%d', new Date(Date.UTC(2026, 0, 1, 23)), 'Pacific/Kiritimati'), '02')
  t.equal(strftime('%j', new Date(Date.UTC(2024, 11, 31))), '366')
})

t.test('templates: directories, full names and placeholders', async (t) => {
  const cases: Array<[string, RegExp | string]> = [
    ['', 'report.pdf'],
    ['docs/', 'docs/report.pdf'],
    ['docs/%Y/%m/', 'docs/2026/11/report.pdf'],
    ['{model}/{field}/', 'profile/document/report.pdf'],
    ['avatars/{uuid}.{ext}', /^avatars\/[0-9a-f-]{36}\.pdf$/],
    ['files/{name}-v2.{ext}', 'files/report-v2.pdf'],
    ['files/{name}', 'files/report.pdf'],
    ['files/{name}.PDF', 'files/report.PDF'],
    ['/abs/', 'abs/report.pdf'],
    ['a b/', 'a_b/report.pdf']
  ]
  for (const [template, expected] of cases) {
    const got = plan(template)
    t.equal(got.needsHash, false)
    if (typeof expected === 'string') t.equal(got.name(), expected, template)
    else t.match(got.name(), expected, template)
  }
})

t.test('{hash} waits for the content', async (t) => {
  const got = plan('cas/{hash}.{ext}')
  t.equal(got.needsHash, true)
  t.equal(got.name('ab'.repeat(32)), `cas/${'ab'.repeat(32)}.pdf`)
})

t.test('a timeZone moves the strftime codes', async (t) => {
  t.equal(plan('%Y/%m/%d/', { timeZone: 'America/Los_Angeles' }).name(), '2026/11/01/report.pdf')
})

t.test('functions get the upload context and return a dir or a name', async (t) => {
  let seen: unknown
  const dir = plan((c) => { seen = c; return `albums/${c.field}/` })
  t.equal(dir.name(), 'albums/document/report.pdf')
  t.match(seen, { filename: 'report.pdf', field: 'document', model: 'profile', date })
  t.equal(plan(() => 'x/custom').name(), 'x/custom.pdf', 'the detected extension is always added')
  t.equal(plan(() => '%Y/').name(), 'Y/report.pdf', 'no strftime for functions')
})

t.test('whatever the template yields stays inside the root', async (t) => {
  for (const bad of ['../', 'docs/../../', '..\\..\\', (): string => '../../etc/', (): string => 'a/../../b/x']) {
    t.throws(() => plan(bad as UploadTo).name(), { code: 'FST_MEDIA_INVALID_NAME', statusCode: 400 }, String(bad))
  }
  t.throws(() => plan(() => 'a/???/').name(), { code: 'FST_MEDIA_INVALID_NAME' }, 'unusable segment')
  t.throws(() => plan('x'.repeat(300) + '/').name(), { code: 'FST_MEDIA_INVALID_NAME' }, 'too long')
  t.equal(plan(() => 'docs/./x/../').name(), 'docs/report.pdf')
})

t.test('maxLength cuts the stem, keeping the extension', async (t) => {
  const got = plan('docs/{name}' + 'x'.repeat(100), { maxLength: 40 }).name()
  t.equal(Buffer.byteLength(got), 40)
  t.match(got, /^docs\/reportx+\.pdf$/)
})
