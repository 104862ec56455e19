// Static responses carry Access-Control-Allow-Origin (static.cors, '*' by default, as WhiteNoise), and
// static paths are read-only: other methods are 405 with Allow. Both in production (memory and disk) and
// in development.
import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fastifyMedia, { type FastifyMediaOptions } from '../lib/index.js'
import { tempDir, type Tap } from './helpers.js'

const HASHED = 'font.0123456789ab.woff2'

async function app (t: Tap, mode: 'production' | 'development', cors?: string | false): Promise<FastifyInstance> {
  const dir = tempDir(t)
  mkdirSync(join(dir, 'staticfiles'))
  mkdirSync(join(dir, 'assets'))
  mkdirSync(join(dir, 'media'))
  for (const name of ['font.woff2', HASHED]) writeFileSync(join(dir, 'staticfiles', name), 'wOF2')
  writeFileSync(join(dir, 'staticfiles/staticfiles.json'), JSON.stringify({ version: '1.1', paths: { 'font.woff2': HASHED } }))
  writeFileSync(join(dir, 'assets/font.woff2'), 'wOF2')
  writeFileSync(join(dir, 'media/a.txt'), 'media')
  const fastify = Fastify()
  t.teardown(() => fastify.close())
  const options: FastifyMediaOptions = { baseDir: dir, mode, static: { dirs: ['assets'], ...(cors === undefined ? {} : { cors }) } }
  await fastify.register(fastifyMedia, options)
  return fastify
}

// the production URL held in memory, the production URL on disk, the development URL
const FILES: Array<['production' | 'development', string]> = [['production', `/static/${HASHED}`], ['production', '/static/font.woff2'], ['development', '/static/font.woff2']]

t.test('static responses carry Access-Control-Allow-Origin: * by default, the origin given, or none with false', async (t) => {
  for (const [mode, url] of FILES) {
    const label = `${mode} ${url}`
    const byDefault = await app(t, mode)
    const res = await byDefault.inject({ url, headers: { origin: 'https://app.example.com' } })
    t.equal(res.statusCode, 200, label)
    t.equal(res.headers['access-control-allow-origin'], '*', `${label}: * by default`)
    const head = await byDefault.inject({ method: 'HEAD', url })
    t.equal(head.headers['access-control-allow-origin'], '*', `${label}: HEAD too`)
    const revalidated = await byDefault.inject({ url, headers: { 'if-none-match': res.headers.etag as string } })
    t.equal(revalidated.statusCode, 304, label)
    t.equal(revalidated.headers['access-control-allow-origin'], '*', `${label}: a 304 too`)
    const origin = await (await app(t, mode, 'https://app.example.com')).inject(url)
    t.equal(origin.headers['access-control-allow-origin'], 'https://app.example.com', `${label}: one origin, as given`)
    const off = await (await app(t, mode, false)).inject(url)
    t.equal(off.statusCode, 200, label)
    t.notOk('access-control-allow-origin' in off.headers, `${label}: false sends none`)
  }
  const media = await (await app(t, 'production')).inject('/media/a.txt')
  t.equal(media.statusCode, 200)
  t.notOk('access-control-allow-origin' in media.headers, 'media responses are unchanged')
})

t.test('static.cors takes "*", an origin or false, and nothing else', async (t) => {
  for (const cors of [true, '', 'https://a.example.com\r\nSet-Cookie: x=1', 5]) {
    const fastify = Fastify()
    t.teardown(() => fastify.close())
    await t.rejects(async () => { await fastify.register(fastifyMedia, { baseDir: tempDir(t), static: { cors: cors as string } }) }, { code: 'FST_MEDIA_INVALID_OPTION', message: /^static\.cors: / }, JSON.stringify(cors))
  }
})

t.test('POST, PUT, DELETE and PATCH on a static path are 405 with Allow: GET, HEAD; a GET of no file stays 404', async (t) => {
  for (const mode of ['production', 'development'] as const) {
    const fastify = await app(t, mode)
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'] as const) {
      for (const url of ['/static/font.woff2', `/static/${HASHED}`, '/static/missing.css']) {
        const res = await fastify.inject({ method, url })
        t.equal(res.statusCode, 405, `${mode} ${method} ${url}`)
        t.equal(res.headers.allow, 'GET, HEAD', `${mode} ${method} ${url}`)
        t.match(res.json(), { statusCode: 405, code: 'FST_MEDIA_METHOD_NOT_ALLOWED', message: new RegExp(`: static files answer GET and HEAD, not ${method}$`) })
      }
    }
    const unparsable = await fastify.inject({ method: 'POST', url: '/static/font.woff2', headers: { 'content-type': 'application/x-unknown' }, payload: 'x' })
    t.equal(unparsable.statusCode, 405, `${mode}: refused before the body is parsed`)
    t.equal((await fastify.inject('/static/missing.css')).statusCode, 404, `${mode}: GET of no file`)
    t.equal((await fastify.inject('/static/font.woff2')).statusCode, 200, `${mode}: GET of the file`)
  }
})
