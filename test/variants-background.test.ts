// `generation: 'background'`: variants queued once their upload commits, behind the VariantQueue adapter.
import t from 'tap'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import sharp from 'sharp'
import fastifyMedia, { FileField, ImageField, InProcessVariantQueue, type FastifyMediaOptions, type VariantJob, type VariantQueue } from '../lib/index.js'
import { filesUnder, fixture, postForm, tempDir, type Tap } from './helpers.js'
import { storedMessages } from './variants-lazy-helpers.js'

const BACKGROUND = { thumb: { width: 50, height: 50, format: 'webp', generation: 'background' }, card: { width: 100, generation: 'lazy' } } as const

/** A queue that only records what it is given: the jobs wait until the test runs them. */
class RecordingQueue implements VariantQueue {
  readonly jobs: VariantJob[] = []
  run: ((job: VariantJob) => Promise<void>) | undefined
  start (run: (job: VariantJob) => Promise<void>): void { this.run = run }
  enqueue (job: VariantJob): void { this.jobs.push(job) }
  async close (): Promise<void> {}
}

async function setup (t: Tap, plugin: FastifyMediaOptions = {}, logs?: string[]) {
  const dir = tempDir(t)
  const stream = new Writable({ write (chunk, _encoding, done) { logs?.push(String(chunk)); done() } })
  const app = Fastify({ logger: logs === undefined ? false : { level: 'warn', stream } })
  t.teardown(() => app.close())
  await app.register(fastifyMedia, { baseDir: dir, static: false, ...plugin })
  const Profile = app.media.model('profile', {
    avatar: ImageField({ uploadTo: 'avatars/', variants: BACKGROUND }),
    doc: FileField({ uploadTo: 'docs/', required: false, accept: ['application/pdf'] })
  })
  app.post('/p', { upload: Profile }, async (req, reply) => reply.code(201).send(req.uploads))
  const Failing = app.media.model('failing', { avatar: ImageField({ uploadTo: 'f/', variants: BACKGROUND }) })
  app.post('/fails', { upload: Failing }, async (req, reply) => reply.code(409).send({ no: true }))
  return { app, dir, root: join(dir, 'media'), Profile }
}

t.test('background variants appear after the request, made by the in-process queue', async (t) => {
  const { app, root } = await setup(t)
  const stored = storedMessages(t)
  const made = stored.next((message) => message.variant === 'thumb')
  const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])
  t.equal(res.statusCode, 201)
  const { avatar } = res.json()
  t.match(avatar.variants.thumb, { name: `${avatar.name}@thumb.webp`, url: `/media/${avatar.name}@thumb.webp`, width: 50, height: 50 })
  const message = await made
  t.match(message, { name: avatar.variants.thumb.name, model: 'profile', field: 'avatar', request: undefined })
  t.match(await sharp(join(root, avatar.variants.thumb.name)).metadata(), { format: 'webp', width: 50, height: 50 })
  t.notOk(existsSync(join(root, avatar.variants.card.name)), 'the lazy one waits for its request')
})

t.test('jobs are queued once the request commits, never for a refused one, and are plain JSON', async (t) => {
  const queue = new RecordingQueue()
  const { app, Profile } = await setup(t, { variants: { queue } })
  const refused = await postForm(app, '/p', [
    { name: 'avatar', filename: 'me.png', content: fixture('fixture.png') },
    { name: 'doc', filename: 'a.pdf', content: fixture('fixture.png') }
  ])
  t.equal(refused.statusCode, 400)
  t.same(queue.jobs, [], 'a refused upload queues nothing')
  t.equal((await postForm(app, '/fails', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])).statusCode, 409)
  t.same(queue.jobs, [], 'a request answered >= 400 queues nothing')

  const res = await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])
  const { avatar } = res.json()
  t.same(queue.jobs, [{ storage: 'default', name: avatar.variants.thumb.name }], 'one job, for the background variant only')
  t.same(JSON.parse(JSON.stringify(queue.jobs)), queue.jobs)

  const saved = await Profile.fields.avatar.save('x.png', fixture('fixture.png'))
  t.same(queue.jobs.at(-1), { storage: 'default', name: saved.variants.thumb.name }, 'field.save() queues too')
})

t.test('a background variant asked for before the queue gets to it is made by the request; the job then finds it there', async (t) => {
  const queue = new RecordingQueue()
  const { app } = await setup(t, { variants: { queue } })
  const stored = storedMessages(t)
  const { avatar } = (await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])).json()
  t.equal((await app.inject(avatar.variants.thumb.url)).statusCode, 200)
  await queue.run!(queue.jobs[0]!)
  t.equal(stored.messages.filter((message) => message.variant === 'thumb').length, 1, 'made once: jobs are idempotent')
  await queue.run!({ storage: 'nowhere', name: 'a.png@thumb.webp' })
  await queue.run!({ storage: 'default', name: 'not-a-variant.png' })
  t.pass('a job for a storage or a variant no longer declared is dropped')
})

t.test('a job that fails is logged and the app goes on', async (t) => {
  const queue = new RecordingQueue()
  const logs: string[] = []
  const { app, root } = await setup(t, { variants: { queue } }, logs)
  const { avatar } = (await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])).json()
  // damaged since its upload: the header still reads, the pixels do not
  const { writeFileSync } = await import('node:fs')
  writeFileSync(join(root, avatar.name), fixture('fixture.png').subarray(0, 3000))
  await t.rejects(queue.run!(queue.jobs[0]!), { code: 'FST_MEDIA_VARIANT_FAILED' })
  t.match(logs.join(''), /a background variant could not be made/)
  t.equal((await app.inject('/media/nothing-here.png')).statusCode, 404, 'still answering')
})

t.test('the in-process queue drains when the app closes', async (t) => {
  const logs: string[] = []
  const { app, root } = await setup(t, {}, logs)
  const names: string[] = []
  for (let i = 0; i < 4; i++) {
    const { avatar } = (await postForm(app, '/p', [{ name: 'avatar', filename: `me${i}.png`, content: fixture('fixture.png') }])).json()
    names.push(avatar.variants.thumb.name)
  }
  await app.close()
  t.same(names.filter((name) => !existsSync(join(root, name))), [], 'every queued variant was made before close resolved')
  t.ok(filesUnder(root).length >= 8)
})

t.test('the in-process queue runs each job in turn, survives a failing one, and drops jobs after close', async (t) => {
  const queue = new InProcessVariantQueue()
  const ran: string[] = []
  queue.enqueue({ storage: 's', name: 'waits-for-start' })
  queue.start(async (job) => {
    ran.push(job.name)
    if (job.name === 'fails') throw new Error('no')
  })
  queue.enqueue({ storage: 's', name: 'fails' })
  queue.enqueue({ storage: 's', name: 'after' })
  await queue.close()
  t.same(ran, ['waits-for-start', 'fails', 'after'])
  queue.enqueue({ storage: 's', name: 'too late' })
  await queue.close()
  t.same(ran, ['waits-for-start', 'fails', 'after'])
})

t.test('a queue that refuses a job is logged; the variant is made on its first request', async (t) => {
  const logs: string[] = []
  const queue: VariantQueue = { start () {}, enqueue () { throw new Error('redis is down') }, async close () {} }
  const { app } = await setup(t, { variants: { queue } }, logs)
  const { avatar } = (await postForm(app, '/p', [{ name: 'avatar', filename: 'me.png', content: fixture('fixture.png') }])).json()
  t.equal((await app.inject(avatar.variants.thumb.url)).statusCode, 200)
  t.match(logs.join(''), /a background variant could not be queued/)
})
