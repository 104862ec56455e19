// GIF and WebP keep their frames all through the file: the header check reads their dimensions from the
// first bytes and counts frames as the bytes stream through, in constant memory, whatever the file's size.
import t from 'tap'
import sharp from 'sharp'
import { ImageField, type ImageFieldOptions } from '../lib/index.js'
import { LATE_HEADER_LIMIT } from '../lib/upload/gate.js'
import { animated } from './image-fixtures.js'
import { filesUnder, makeApp, postForm, type Tap } from './helpers.js'

const noise = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: '#000', noise: { type: 'gaussian', mean: 128, sigma: 60 } } })

async function upload (t: Tap, options: ImageFieldOptions, content: Buffer, filename: string) {
  const { app, dir } = await makeApp(t)
  const M = app.media.model('m', { image: ImageField(options) })
  app.post('/m', { upload: M }, async (req) => req.uploads)
  const res = await postForm(app, '/m', [{ name: 'image', filename, content }], { chunkSize: 65_536 })
  return { res, files: filesUnder(dir) }
}

t.test('a WebP and a GIF larger than the late-header bound are stored with their dimensions', async (t) => {
  const webp = await noise(1000, 1000).webp({ lossless: true, effort: 0 }).toBuffer()
  const gif = await noise(1600, 1200).gif({ effort: 1, dither: 0 }).toBuffer()
  for (const [content, filename, width, height] of [[webp, 'big.webp', 1000, 1000], [gif, 'big.gif', 1600, 1200]] as const) {
    t.ok(content.length > LATE_HEADER_LIMIT, `${filename}: ${content.length} bytes`)
    const { res, files } = await upload(t, { maxSize: '10 MB' }, content, filename)
    t.equal(res.statusCode, 200, res.body)
    t.match(res.json().image, { name: filename, width, height, size: content.length })
    t.same(files, [`media/${filename}`])
  }
})
