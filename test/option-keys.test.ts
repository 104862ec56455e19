import Fastify from 'fastify'
import { readdirSync } from 'node:fs'
import t from 'tap'
import fastifyMedia, { errors, FileField, FileSystemStorage, ImageField, MemoryStorage, S3Storage } from '../lib/index.js'
import { closest, editDistance } from '../lib/check-keys.js'
import { tempDir, type Tap } from './helpers.js'

// Every options object is passed `as never` (or built from `any`): what a JavaScript caller can write,
// which TypeScript's excess-property check would otherwise stop before the run-time check is reached.

/** Registers the plugin with `options` in a fresh app on an empty baseDir; the error, or undefined. */
async function registerError (t: Tap, options: Record<string, unknown>): Promise<{ err: unknown, dir: string }> {
  const dir = tempDir(t)
  const app = Fastify()
  t.teardown(() => app.close())
  try {
    await app.register(fastifyMedia, { baseDir: dir, ...options } as never)
    await app.ready()
    return { err: undefined, dir }
  } catch (err) {
    return { err, dir }
  }
}

const invalidOption = (message: RegExp) => ({ code: 'FST_MEDIA_INVALID_OPTION', statusCode: 500, message })

t.test('the issue\'s misspelt plugin options fail register, naming the key, its path and the closest valid key', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ medya: { url: '/media/' } }, /^medya: unknown option, did you mean media\?$/],
    [{ limits: { file: 3 } }, /^limits\.file: unknown option, did you mean files\?$/],
    [{ media: { rot: 'uploads' } }, /^media\.rot: unknown option, did you mean root\?$/],
    [{ static: { dir: ['assets'] } }, /^static\.dir: unknown option, did you mean dirs\?$/],
    [{ static: { dirs: [{ prefx: 'vendor', dir: 'assets' }] } }, /^static\.dirs\[0\]\.prefx: unknown option, did you mean prefix\?$/],
    [{ signing_key: 'k'.repeat(32) }, /^signing_key: unknown option, did you mean signingKey\?$/],
    [{ limits: { total_size: '1 GB' } }, /^limits\.total_size: unknown option, did you mean totalSize\?$/],
    [{ Storages: {} }, /^Storages: unknown option, did you mean storages\?$/]
  ]
  for (const [options, message] of cases) {
    const { err, dir } = await registerError(t, options)
    t.match(err, invalidOption(message), String(message))
    t.ok(err instanceof errors.FST_MEDIA_INVALID_OPTION, `${String(message)}: instanceof works`)
    t.same(readdirSync(dir), [], `${String(message)}: nothing created under baseDir`)
  }
})

t.test('a plugin option that belongs to a nested object says where it goes', async (t) => {
  t.match((await registerError(t, { files: 3 })).err, invalidOption(/^files: unknown option: files is a limits option \(limits\.files\)$/))
  t.match((await registerError(t, { dirs: ['assets'] })).err, invalidOption(/^dirs: unknown option: dirs is a static option \(static\.dirs\)$/))
  t.match((await registerError(t, { maxSize: '1 MB' })).err, invalidOption(/^maxSize: unknown option: maxSize is a field option/))
})

t.test('a key near no valid key gets no suggestion but the list of valid keys', async (t) => {
  const { err } = await registerError(t, { limits: { bananas: 3 } })
  t.match(err, invalidOption(/^limits\.bananas: unknown option \(known: files, fields, fieldSize, parts, totalSize, headerPairs, uploadTimeout\)$/))
  t.notMatch((err as Error).message, /did you mean/)
})

t.test('Fastify\'s logLevel and logSerializers reach the plugin\'s options and are not refused', async (t) => {
  const { err } = await registerError(t, { static: false, logLevel: 'warn', logSerializers: {} })
  t.equal(err, undefined)
})

t.test('Fastify\'s prefix, which would move no URL of a plugin that is not encapsulated, is refused', async (t) => {
  const { err } = await registerError(t, { prefix: '/assets' })
  t.match(err, invalidOption(/^prefix: unknown option: prefix is Fastify's route prefix, which does not apply to fastify-media \(it is not encapsulated\): set media\.url and static\.url$/))
})

t.test('valid options with every nested object register', async (t) => {
  const { err } = await registerError(t, {
    mode: 'development',
    media: { url: '/media/', root: 'media' },
    static: { url: '/static/', root: 'staticfiles', dirs: ['assets', { prefix: 'vendor', dir: 'vendor' }] },
    limits: { files: 1, fields: 1, fieldSize: 10, parts: 5, totalSize: '1 MB', headerPairs: 10, uploadTimeout: 0 }
  })
  t.equal(err, undefined)
})

t.test('the issue\'s misspelt field options fail at declaration', async (t) => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => FileField({ maxsize: '10 MB' } as never), /^FileField\.maxsize: unknown option, did you mean maxSize\?$/],
    [() => FileField({ upload_to: 'docs/' } as never), /^FileField\.upload_to: unknown option, did you mean uploadTo\?$/],
    [() => ImageField({ maxsize: '10 MB' } as never), /^ImageField\.maxsize: unknown option, did you mean maxSize\?$/],
    [() => ImageField({ 'max-pixels': 1000 } as never), /^ImageField\.max-pixels: unknown option, did you mean maxPixels\?$/],
    [() => ImageField({ formts: ['png'] } as never), /^ImageField\.formts: unknown option, did you mean formats\?$/],
    [() => FileField({ requird: false } as never), /^FileField\.requird: unknown option, did you mean required\?$/],
    [() => FileField({ colour: 'red' } as never), /^FileField\.colour: unknown option \(known: uploadTo, accept, /]
  ]
  for (const [declare, message] of cases) t.throws(declare, invalidOption(message), String(message))
})

t.test('an ImageField option on a FileField says it is an ImageField option', async (t) => {
  t.throws(() => FileField({ formats: ['png'] } as never), invalidOption(/^FileField\.formats: unknown option: formats is an ImageField option$/))
  t.throws(() => FileField({ variants: {} } as never), invalidOption(/^FileField\.variants: unknown option: variants is an ImageField option$/))
  t.throws(() => FileField({ max_pixels: 10 } as never), invalidOption(/^FileField\.max_pixels: unknown option: maxPixels is an ImageField option$/))
})

t.test('misspelt variant options fail at declaration, with the variant\'s path', async (t) => {
  t.throws(() => ImageField({ variants: { thumb: { widht: 200 } } } as never), invalidOption(/^ImageField\.variants\.thumb\.widht: unknown option, did you mean width\?$/))
  t.throws(() => ImageField({ variants: { card: { width: 800, strip_metadata: false } } } as never), invalidOption(/^ImageField\.variants\.card\.strip_metadata: unknown option, did you mean stripMetadata\?$/))
  t.throws(() => ImageField({ variants: { card: { width: 800, blur: 3 } } } as never), invalidOption(/^ImageField\.variants\.card\.blur: unknown option \(known: width, height, fit, format, quality, effort, withoutEnlargement, animated, stripMetadata, generation\)$/))
})

t.test('misspelt storage options fail in the constructor', async (t) => {
  t.throws(() => new FileSystemStorage({ location: 'x', base_url: '/x/' } as never), invalidOption(/^FileSystemStorage\.base_url: unknown option, did you mean baseUrl\?$/))
  t.throws(() => new FileSystemStorage({ locaton: 'x' } as never), invalidOption(/^FileSystemStorage\.locaton: unknown option, did you mean location\?$/))
  t.throws(() => new MemoryStorage({ baseurl: '/m/' } as never), invalidOption(/^MemoryStorage\.baseurl: unknown option, did you mean baseUrl\?$/))
  t.throws(() => new MemoryStorage({ expires: 10 } as never), invalidOption(/^MemoryStorage\.expires: unknown option, did you mean expiresIn\?$/))
  t.throws(() => new S3Storage({ bucket: 'b', prefx: 'media/' } as never), invalidOption(/^S3Storage\.prefx: unknown option, did you mean prefix\?$/))
  t.throws(() => new S3Storage({ bucket: 'b', presign_expires: 60 } as never), invalidOption(/^S3Storage\.presign_expires: unknown option, did you mean presignExpires\?$/))
})

t.test('an S3 client setting given to S3Storage itself is pointed to clientConfig', async (t) => {
  for (const key of ['region', 'endpoint', 'forcePathStyle', 'credentials']) {
    t.throws(() => new S3Storage({ bucket: 'b', [key]: 'x' } as never), invalidOption(new RegExp(`^S3Storage\\.${key}: unknown option: ${key} is an S3 client setting: put it in clientConfig$`)), key)
  }
})

t.test('addStaticDir refuses an unknown option', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: tempDir(t) })
  t.throws(() => app.media.addStaticDir('plugin-assets', { prefx: 'plugin' } as never), invalidOption(/^addStaticDir\.prefx: unknown option, did you mean prefix\?$/))
})

t.test('closest: case, _ and - do not count; then an edit distance of a third of the word; swaps are one edit', async (t) => {
  const cases: Array<[string, string[], string | undefined]> = [
    ['medya', ['media', 'static'], 'media'],
    ['MAXSIZE', ['minSize', 'maxSize'], 'maxSize'],
    ['upload-to', ['uploadTo'], 'uploadTo'],
    ['widht', ['width', 'height'], 'width'],
    ['pfd', ['psd', 'pdf'], 'pdf'],
    ['x', ['y'], 'y'],
    ['xyz', ['media', 'mode'], undefined],
    ['abcdef', ['uvwxyz'], undefined],
    ['ab', ['ac', 'ad'], 'ac']
  ]
  for (const [word, candidates, expected] of cases) t.equal(closest(word, candidates), expected, `${word} in ${candidates.join(', ')}`)
  t.equal(editDistance('', 'abc'), 3)
  t.equal(editDistance('ab', 'ba'), 1)
  t.equal(editDistance('kitten', 'sitting'), 3)
})
