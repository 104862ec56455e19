// The demo app as `npm start` runs it, on temp directories (never the developer's example/media or data):
// collectstatic into a temp static root, production mode, 127.0.0.1 on a free port. It builds the app with
// server.js's buildApp(), as example/main.js does, so the test holds the app and its directories
// (test/example.test.ts runs main.js itself, through the CLI and as a process).
import type { FastifyInstance } from 'fastify'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildApp, type BuildAppOptions } from '../../example/server.js'
import { tempDir, type Tap } from '../helpers.js'

/**
 * The `--ignore` patterns of `npm start`'s collectstatic (package.json): tus-js-client's dist, a static dir of
 * the demo, holds more than the page loads (its test bundle, the unminified build).
 */
export const START_IGNORE: string[] = [...(JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { scripts: { start: string } })
  .scripts.start.matchAll(/--ignore '([^']+)'/g)].map((match) => match[1]!)

export interface Demo {
  app: FastifyInstance
  /** `http://127.0.0.1:<port>/` */
  url: string
  mediaRoot: string
  dataDir: string
  /** Where the private storage keeps contracts. */
  privateRoot: string
  staticRoot: string
}

/** `s3`: the bucket the video field goes to, as main.js's MEDIA_S3_BUCKET and MEDIA_S3_ENDPOINT give it. */
export async function startDemo (t: Tap, { mode = 'production', s3 }: { mode?: 'development' | 'production', s3?: BuildAppOptions['s3'] } = {}): Promise<Demo> {
  const dir = tempDir(t)
  const paths = { mediaRoot: join(dir, 'media'), dataDir: join(dir, 'data'), staticRoot: join(dir, 'staticfiles') }
  const app = await buildApp({ ...paths, mode, s3 })
  t.teardown(() => app.close())
  // what `fastify-media collectstatic example/main.js` does for npm start
  if (mode === 'production') await app.media.collectstatic({ ignore: START_IGNORE })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url: `${address}/`, ...paths, privateRoot: join(paths.dataDir, 'private') }
}
