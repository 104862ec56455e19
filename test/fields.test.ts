import t from 'tap'
import { FileField, ImageField } from '../lib/index.js'
import { makeApp } from './helpers.js'

t.test('field options are resolved once and frozen', async (t) => {
  const field = ImageField({ uploadTo: 'a/', maxSize: '2 MB', minSize: 10, multiple: true, maxCount: 3, formats: ['png'], maxPixels: 100, timeZone: 'Europe/Paris' })
  t.equal(field.kind, 'image')
  t.equal(field.required, true)
  t.equal(field.multiple, true)
  t.ok(Object.isFrozen(field.options))
  t.match(field.options, { uploadTo: 'a/', maxSize: 2_000_000, minSize: 10, maxCount: 3, storage: 'default', maxLength: 255, timeZone: 'Europe/Paris' })
  t.same([...field.options.image!.formats], ['png'])
  t.equal(field.options.image!.maxPixels, 100)
  const plain = FileField()
  t.equal(plain.kind, 'file')
  t.equal(plain.options.image, undefined)
  t.equal(plain.options.maxSize, Infinity)
  t.equal(plain.options.accept.any, true)
  t.same([...ImageField().options.image!.formats], ['jpeg', 'png', 'webp', 'gif', 'avif'], 'no SVG by default')
})

t.test('accept takes MIME types, wildcards and extensions', async (t) => {
  const { accept } = FileField({ accept: ['application/PDF', 'image/*', '.JPEG'] }).options
  t.same([...accept.types], ['application/pdf'])
  t.same(accept.wildcards, ['image/'])
  t.same([...accept.extensions], ['jpg'])
})

t.test('bad field options throw at declaration, naming the option', async (t) => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => FileField({ maxSize: 'big' }), /FileField\.maxSize/],
    [() => FileField({ minSize: -3 }), /FileField\.minSize/],
    [() => FileField({ minSize: 10, maxSize: 5 }), /FileField\.minSize: is larger than maxSize/],
    [() => FileField({ maxCount: 2 }), /FileField\.maxCount: needs multiple: true/],
    [() => FileField({ multiple: true, maxCount: 0 }), /FileField\.maxCount/],
    [() => FileField({ accept: [] }), /FileField\.accept/],
    [() => FileField({ accept: ['pdf'] }), /FileField\.accept: "pdf"/],
    [() => FileField({ uploadTo: 42 as never }), /FileField\.uploadTo/],
    [() => FileField({ timeZone: 'Mars/Olympus' }), /FileField\.timeZone/],
    [() => FileField({ maxLength: 3 }), /FileField\.maxLength/],
    [() => ImageField({ formats: ['bmp' as never] }), /ImageField\.formats: "bmp"/],
    [() => ImageField({ formats: [] }), /ImageField\.formats/],
    [() => ImageField({ maxPixels: 1.5 }), /ImageField\.maxPixels/]
  ]
  for (const [make, message] of cases) t.throws(make, { code: 'FST_MEDIA_INVALID_OPTION', message })
})

t.test('models check names, fields and storages', async (t) => {
  const { app } = await makeApp(t)
  t.throws(() => app.media.model('bad name', { a: FileField() }), { code: 'FST_MEDIA_INVALID_OPTION', message: /model/ })
  t.throws(() => app.media.model('empty', {}), { message: /needs at least one field/ })
  t.throws(() => app.media.model('x', { a: { kind: undefined } as never }), { message: /x\.a: is not a FileField or ImageField/ })
  t.throws(() => app.media.model('y', { a: FileField({ storage: 'private' }) }), { message: /y\.a\.storage: no storage named "private" \(have: default\)/ })
  const Doc = app.media.model('doc', { file: FileField() })
  t.equal(Doc.name, 'doc')
  t.equal(Doc.fields.file.name, 'file')
  t.equal(Doc.fields.file.model, 'doc')
  t.ok(Object.isFrozen(Doc))
  t.throws(() => app.media.model('doc', { file: FileField() }), { message: /declared twice/ })
})

t.test('without any storage, a model says so', async (t) => {
  const { app } = await makeApp(t, { media: false })
  t.throws(() => app.media.model('doc', { file: FileField() }), { message: /have: none/ })
})
