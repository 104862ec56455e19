import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, release, totalmem } from 'node:os'
import { join } from 'node:path'
import { nginxMissing, nginxVersion } from './nginx.js'

const ROOT = join(import.meta.dirname, '..', '..')
const PACKAGES = ['fastify', '@fastify/static', '@fastify/multipart', 'express', 'multer', 'autocannon', 'sharp', 'file-type', '@tus/server', '@tus/file-store', 'tus-js-client']

const versionOf = (name) => JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version

export async function environment (scratch) {
  let fs = 'unknown'
  try {
    fs = execFileSync('stat', ['-f', '-c', '%T', scratch], { encoding: 'utf8' }).trim()
  } catch {}
  return {
    cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: release(),
    node: process.version,
    packages: PACKAGES.map((name) => `${name} ${versionOf(name)}`).join(', '),
    nginx: nginxMissing() ?? nginxVersion(),
    scratch: `${scratch} (${fs})`
  }
}

const load = (values) => values.map((v) => v.toFixed(2)).join(' / ')

export function renderReport ({ results, args, env, loadBefore, loadAfter, seconds }) {
  const command = `npm run bench --${process.argv.slice(2).map((a) => ` ${a}`).join('')}`.replace(/ --$/, '')
  const lines = [
    `# Benchmark results${args.quick ? ' (quick smoke run: not figures to quote)' : ''}`,
    '',
    `- Command: \`${command}\` (${args.rounds} interleaved round${args.rounds === 1 ? '' : 's'} of ${args.duration} s per figure, ${args.warmup} s warm-up before each)`,
    `- Date: ${new Date().toISOString()}; took ${Math.round(seconds)} s`,
    `- Machine: ${env.cpu}, ${env.memory}, Linux ${env.kernel}; Node ${env.node}`,
    `- Packages: ${env.packages}; nginx: ${env.nginx}`,
    `- Scratch: ${env.scratch}`,
    `- Load average (1/5/15 min) before: ${load(loadBefore)}, after: ${load(loadAfter)}`,
    ''
  ]
  const targets = results.flatMap((r) => r.targets ?? [])
  if (targets.length > 0) {
    lines.push('## Targets', '', '| target | measured | met |', '| --- | --- | --- |')
    for (const t of targets) {
      const measured = t.value ?? (t.ratio === undefined ? 'n/a' : `${t.ratio.toFixed(2)}x`)
      const short = t.ratio === undefined ? '' : ` (${((t.ratio / t.goal - 1) * 100).toFixed(0)}%)`
      lines.push(`| ${t.what} | ${measured} | ${t.met === undefined ? 'not measured' : t.met ? 'yes' : `**no**${short}`} |`)
    }
    lines.push('')
  }
  for (const result of results) {
    lines.push(`## ${result.name}`, '')
    if (result.error !== undefined) {
      lines.push(`FAILED: ${result.error}`, '')
      continue
    }
    for (const figure of result.figures) lines.push(figure.markdown(), '')
    for (const note of result.notes ?? []) lines.push(`- ${note}`)
    if ((result.notes ?? []).length > 0) lines.push('')
  }
  return lines.join('\n')
}
