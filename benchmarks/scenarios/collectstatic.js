// collectstatic over 2 000 files (CSS with url() references, JS with source maps, images): a cold run,
// an incremental run with nothing changed, a cold run at a lower brotli quality, and `cp -r` of the same
// tree as the baseline.
import { execFileSync, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { resultOf } from '../lib/child.js'
import { cssText, jsText, random, writeFile } from '../lib/fixtures.js'
import { Figure } from '../lib/stats.js'

const COLLECT_CHILD = fileURLToPath(new URL('../lib/collect-child.js', import.meta.url))
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/** `groups` sets of css + js + map + image (4 files each), in 20 component folders. */
function writeTree (src, groups) {
  const rand = random(42)
  for (let i = 0; i < groups; i++) {
    const folder = `components/c${i % 20}`
    writeFile(join(src, folder, `img${i}.png`), Buffer.concat([PNG_SIGNATURE, randomBytes(6 * 1024)]))
    // two images referenced by each stylesheet, one of them in another folder
    const next = (i + 1) % groups
    const urls = [`img${i}.png`, `../c${next % 20}/img${next}.png`]
    writeFile(join(src, folder, `style${i}.css`), cssText(4 * 1024, rand, urls))
    writeFile(join(src, folder, `module${i}.js`), `${jsText(8 * 1024, rand)}\n//# sourceMappingURL=module${i}.js.map\n`)
    writeFile(join(src, folder, `module${i}.js.map`), JSON.stringify({ version: 3, file: `module${i}.js`, sources: [`module${i}.ts`], names: [], mappings: jsText(12 * 1024, rand).replace(/[^A-Za-z;,]/g, 'A') }))
  }
}

// a lower quality, for projects that collect on every deploy (the default, 11, is most of a cold run)
const LOW_QUALITY = 5

async function collectOnce (baseDir, options) {
  const started = process.hrtime.bigint()
  const child = fork(COLLECT_CHILD, [JSON.stringify({ baseDir, options })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const result = await resultOf(child, 'result')
  return { ...result, wallSeconds: Number(process.hrtime.bigint() - started) / 1e9 }
}

function timed (fn) {
  const started = process.hrtime.bigint()
  fn()
  return Number(process.hrtime.bigint() - started) / 1e9
}

export default {
  name: 'collectstatic',
  async run (ctx) {
    const groups = ctx.quick ? 50 : 500
    const dir = ctx.scratchDir('collectstatic')
    const src = join(dir, 'src')
    writeTree(src, groups)
    const files = groups * 4
    const figure = new Figure(`collectstatic over ${files} files (${groups} each of CSS with 2 url() references, JS with a source map, source map, image)`, {
      unit: 's',
      rowTitle: 'run',
      digits: 3,
      baselines: ['cp -r'],
      extras: [{ key: 'process', title: 'whole process (s)', format: (v) => v.toFixed(2) }]
    })
    for (let round = 1; round <= ctx.rounds; round++) {
      rmSync(join(dir, 'copy'), { recursive: true, force: true })
      rmSync(join(dir, 'staticfiles'), { recursive: true, force: true })
      ctx.sync()
      const copy = timed(() => execFileSync('cp', ['-r', src, join(dir, 'copy')]))
      figure.add('cp -r', copy)
      ctx.sync()
      const cold = await collectOnce(dir)
      if (cold.copied !== files || cold.manifest !== files) throw new Error(`cold collectstatic: ${JSON.stringify(cold)}`)
      figure.add('collectstatic, cold', cold.collectSeconds, { process: cold.wallSeconds })
      ctx.sync()
      const again = await collectOnce(dir)
      if (again.copied !== 0 || again.postProcessed !== 0 || again.unmodified !== files) throw new Error(`incremental collectstatic changed something: ${JSON.stringify(again)}`)
      figure.add('collectstatic, no change', again.collectSeconds, { process: again.wallSeconds })
      rmSync(join(dir, 'staticfiles'), { recursive: true, force: true })
      ctx.sync()
      const low = await collectOnce(dir, { brotliQuality: LOW_QUALITY })
      if (low.copied !== files || low.manifest !== files) throw new Error(`cold collectstatic, brotliQuality ${LOW_QUALITY}: ${JSON.stringify(low)}`)
      figure.add(`collectstatic, cold, brotliQuality ${LOW_QUALITY}`, low.collectSeconds, { process: low.wallSeconds })
      ctx.log(`collectstatic round ${round}: cp -r ${copy.toFixed(3)} s, cold ${cold.collectSeconds.toFixed(3)} s, no change ${again.collectSeconds.toFixed(3)} s, cold at brotliQuality ${LOW_QUALITY} ${low.collectSeconds.toFixed(3)} s`)
    }
    figure.notes.push('The collectstatic figure is `app.media.collectstatic()` inside a fresh process (a production app, as `fastify-media collectstatic` loads it); "whole process" adds Node\'s start, the imports and register. The page cache is warm for all three (the tree was just written).')
    const incremental = figure.median('collectstatic, no change')
    return {
      figures: [figure],
      targets: [
        { what: `collectstatic, no change, ${files} files: < 0.5 s`, value: `${incremental.toFixed(3)} s`, met: incremental < 0.5 },
        // the ratio is a time: smaller is better, so the target is inverted
        { what: `collectstatic, cold, ${files} files: < 10x cp -r`, value: `${figure.ratio('collectstatic, cold', 'cp -r').toFixed(1)}x`, met: figure.ratio('collectstatic, cold', 'cp -r') < 10 },
        { what: `collectstatic, cold, brotliQuality ${LOW_QUALITY}, ${files} files: < 10x cp -r`, value: `${figure.ratio(`collectstatic, cold, brotliQuality ${LOW_QUALITY}`, 'cp -r').toFixed(1)}x`, met: figure.ratio(`collectstatic, cold, brotliQuality ${LOW_QUALITY}`, 'cp -r') < 10 }
      ]
    }
  }
}
