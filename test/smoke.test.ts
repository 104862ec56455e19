import t from 'tap'
import { FileField, ImageField } from '../lib/index.js'
import { filesUnder, fixture, makeApp, postForm } from './helpers.js'

t.test('an image and a pdf go in, and come out', async (t) => {
  const { app, dir } = await makeApp(t)
  const Profile = app.media.model('profile', {
    avatar: ImageField({ uploadTo: 'avatars/' }),
    doc: FileField({ uploadTo: 'docs/%Y/', accept: ['application/pdf'], required: false })
  })
  app.post('/p', { upload: Profile }, async (req) => req.uploads)
  const res = await postForm(app, '/p', [
    { name: 'title', content: 'hello' },
    { name: 'avatar', filename: 'me.png', content: fixture('fixture.png') },
    { name: 'doc', filename: 'report.pdf', content: fixture('fixture.pdf') }
  ])
  t.equal(res.statusCode, 200, res.body)
  console.log(res.json(), filesUnder(dir))
  const got = await app.inject(res.json().avatar.url)
  t.equal(got.statusCode, 200)
  console.log(got.headers)
})
