import t from 'tap'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { FileField, type PresignedForm } from '../lib/index.js'
import type { BoundField } from '../lib/fields/model.js'
import { directApp } from './direct-app.js'
import { commitForm, keysUnder, mp4, postToBucket } from './direct-helpers.js'
import type { Tap } from './helpers.js'

const MiB = 1024 * 1024

interface Sent { command: string, key: string, range?: string }

/**
 * An app with a field that never decodes (an mp4, named as uploaded) of at most 1 MiB, a file posted to its
 * quarantine, and every S3 command the app sends from then on, as the SDK is asked it (the storage's own client).
 */
async function committing (t: Tap, bytes: Buffer) {
  let video: BoundField | undefined
  const app = await directApp(t, {
    setup: (app) => {
      const Film = app.media.model('film', { video: FileField({ storage: 'bucket', uploadTo: 'films/', accept: ['video/mp4'], maxSize: MiB, direct: true }) })
      video = Film.fields.video
      app.post('/films', { upload: Film }, async (req, reply) => await reply.code(201).send(req.uploads))
    }
  })
  // presigned for what the policy allows; the client then posts what it likes (s3rver does not enforce the policy)
  const form = await app.app.media.presign(video!, { filename: 'film.mp4', size: Math.min(bytes.length, MiB) }) as PresignedForm
  t.equal(await postToBucket(form, bytes), 204)
  const sent: Sent[] = []
  app.client.middlewareStack.add((next, context) => async (args) => {
    const input = args.input as { Key: string, Range?: string }
    sent.push({ command: String(context.commandName).replace(/Command$/, ''), key: input.Key, ...(input.Range === undefined ? {} : { range: input.Range }) })
    return await next(args)
  }, { step: 'initialize', name: 'record-commands' })
  const res = await commitForm(`${app.origin}/films`, { video: form.token })
  return { app, res, sent, quarantined: form.fields.key! }
}

t.test('a 1 MiB file for a field that does not decode: a HEAD, one GET of bytes 0-65535, the copy, the delete', async (t) => {
  const bytes = mp4(MiB, 7)
  const { app, res, sent, quarantined } = await committing(t, bytes)
  t.equal(res.statusCode, 201, JSON.stringify(res.json))
  t.match(res.json.video, { name: 'films/film.mp4', size: MiB })
  const ofUpload = sent.filter(({ key }) => key === quarantined)
  t.same(ofUpload, [
    { command: 'HeadObject', key: quarantined },
    { command: 'GetObject', key: quarantined, range: 'bytes=0-65535' },
    { command: 'DeleteObject', key: quarantined }
  ], 'the quarantined object: its size, its first 64 KiB, its removal; nothing else read')
  t.same(sent.filter(({ command }) => command === 'GetObject').length, 1, 'no other GET, of any object')
  const copy = sent.findIndex(({ command }) => command === 'CopyObject')
  t.equal(sent[copy]?.key, 'films/film.mp4', 'copied to its name')
  t.ok(copy > sent.findIndex(({ command }) => command === 'GetObject') && copy < sent.findIndex(({ command }) => command === 'DeleteObject'), 'after the read, before the delete')
  const stored = await app.client.send(new GetObjectCommand({ Bucket: app.bucket, Key: 'films/film.mp4' }))
  t.same(Buffer.from(await stored.Body!.transformToByteArray()), bytes, 'the committed object is the whole file')
  t.same(await keysUnder(app.client, app.bucket, '.direct/q/'), [])
})

t.test('a file one byte over maxSize (the client ignored the policy): a HEAD and no GET, 413, nothing left', async (t) => {
  const { app, res, sent, quarantined } = await committing(t, mp4(MiB + 1))
  t.equal(res.statusCode, 413)
  t.match(res.json, { code: 'FST_MEDIA_FILE_TOO_LARGE', field: 'video', limit: MiB })
  t.same(sent.filter(({ key }) => key === quarantined).map(({ command }) => command), ['HeadObject', 'DeleteObject'], 'sized, then removed')
  t.same(sent.filter(({ command }) => command === 'GetObject' || command === 'CopyObject'), [], 'no byte read, nothing copied')
  t.same(await keysUnder(app.client, app.bucket), [], 'no copy, no quarantined file, no used-token record')
})
