// stat() of a file the storage does not hold is a declared 404 naming the file, where an app meets it:
// a route that loads a record and reads its file's size.
import t from 'tap'
import { FileField } from '../lib/index.js'
import { makeApp } from './helpers.js'

t.test('file.stat() of a missing file: 404 FST_MEDIA_FILE_NOT_FOUND naming it', async (t) => {
  const { app } = await makeApp(t)
  const Doc = app.media.model('doc', { document: FileField({ uploadTo: 'docs/' }) })
  app.get<{ Querystring: { name: string } }>('/docs/size', async (req) => {
    const { document } = Doc.load({ document: req.query.name })
    return { size: (await document!.stat()).size }
  })
  const res = await app.inject('/docs/size?name=docs/gone.pdf')
  t.equal(res.statusCode, 404)
  t.same(res.json(), { statusCode: 404, code: 'FST_MEDIA_FILE_NOT_FOUND', error: 'Not Found', message: 'docs/gone.pdf: no such file in the storage' })
})
