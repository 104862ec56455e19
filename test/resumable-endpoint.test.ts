import t from 'tap'
import { join } from 'node:path'
import { FileField, FileSystemStorage } from '../lib/index.js'
import { ResumableEndpoint } from '../lib/resumable/endpoint.js'
import { parseResumable } from '../lib/resumable/options.js'
import { makeApp } from './helpers.js'

t.test('an upload gone between tus\'s refusal and ours leaves tus\'s own answer; no id means no limit of ours', async (t) => {
  const { app, dir } = await makeApp(t)
  const Clip = app.media.model('clip', { video: FileField({ accept: ['video/mp4'] }) })
  const storage = app.media.storage() as FileSystemStorage
  const rules = parseResumable('/files', { fields: [Clip.fields.video] })
  const endpoint = new ResumableEndpoint(rules, '/files', storage, await storage.driver.resumable({ expiresIn: 1000 }))
  t.equal(await endpoint.tooLarge(endpoint.backing.storeId('0'.repeat(32))), undefined)
  t.equal(await endpoint.maxSize(null), 0)
  t.equal(join(dir, 'media', '.resumable'), join(storage.location, '.resumable'), 'kept in the storage\'s own .resumable/')
})
