// What one 200x200 WebP thumbnail costs an upload: the uploads-small ImageField servers with and without a
// variant, interleaved round by round (a busy machine slows both alike, so the ratio is what to read), with
// the server's CPU per request. `--cpu-prof DIR` writes each server's V8 profile there (main thread only:
// sharp's work runs on libuv's threads and shows as idle). Uses dist/: `npm run build` first.
// `--before ROOT` runs the same servers of another checkout (its benchmarks/ and built dist/) in each round
// too, for a before/after comparison on the same machine at the same time.
//   node benchmarks/variant-cost.js [--rounds 3] [--duration 5] [--cpu-prof DIR] [--before ROOT]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { profileServersInto, startServer } from './lib/child.js'
import { multipartBody, noisePng } from './lib/fixtures.js'
import { runLoad } from './lib/load.js'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '5' }, 'cpu-prof': { type: 'string' }, before: { type: 'string' } } })
const rounds = Number(values.rounds)
const duration = Number(values.duration)
const builds = [{ label: '', startServer }]
if (values.before !== undefined) {
  const before = await import(resolve(values.before, 'benchmarks/lib/child.js'))
  builds.unshift({ label: 'before ', startServer: before.startServer, profileServersInto: before.profileServersInto })
}
if (values['cpu-prof'] !== undefined) {
  profileServersInto(values['cpu-prof'])
  builds[0].profileServersInto?.(values['cpu-prof'])
}

const png = await noisePng(64 * 1024)
const { body, contentType } = multipartBody('photo.png', 'image/png', png)
const runs = builds.flatMap((build) => ['image', 'variants'].map((field) => ({ ...build, field, name: `${build.label}${field}` })))
const totals = Object.fromEntries(runs.map(({ name }) => [name, { rps: [], cpuMs: [] }]))
for (let round = 1; round <= rounds; round++) {
  for (const { name, field, startServer } of runs) {
    const dir = mkdtempSync(join(tmpdir(), 'variant-cost-'))
    const running = await startServer('upload-media.js', { dir, field })
    try {
      const load = { url: `http://127.0.0.1:${running.port}/upload`, method: 'POST', headers: { 'content-type': contentType }, body, connections: 10, label: field }
      await runLoad({ ...load, duration: 1 })
      const before = await running.stats()
      const result = await runLoad({ ...load, duration })
      const after = await running.stats()
      const cpuMs = (after.cpu - before.cpu) / 1000 / (result.ok)
      totals[name].rps.push(result.rps)
      totals[name].cpuMs.push(cpuMs)
      console.error(`round ${round} ${name}: ${Math.round(result.rps)} req/s, ${cpuMs.toFixed(2)} ms server CPU a request`)
    } finally {
      await running.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
for (const { label } of builds) {
  const image = median(totals[`${label}image`].rps)
  const variants = median(totals[`${label}variants`].rps)
  console.log(`${label}ImageField: ${Math.round(image)} req/s, ${median(totals[`${label}image`].cpuMs).toFixed(2)} ms CPU a request`)
  console.log(`${label}ImageField + thumb: ${Math.round(variants)} req/s, ${median(totals[`${label}variants`].cpuMs).toFixed(2)} ms CPU a request`)
  console.log(`${label}ratio (medians of ${rounds} rounds): ${(variants / image).toFixed(3)}x`)
}
