// wrk (Debian's), the second load generator: autocannon, in Node, can cap a fast server before the server
// does (fastify/benchmarks#122). A generated Lua script rotates paths, sets headers and a body.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fetchOnce } from './http.js'

const WRK = process.env.WRK ?? '/usr/bin/wrk'
// as autocannon's runs (load.js): a busy machine slows a run, never fails it
const REQUEST_TIMEOUT_S = 60

/** Why wrk cannot run here, or undefined when it can. */
export function wrkMissing () {
  if (!existsSync(WRK)) return `${WRK} is not installed (apt-get install wrk, or set WRK=/path/to/wrk)`
  // wrk prints its version and usage, and exits 1, when given no URL
  const probe = spawnSync(WRK, ['--version'], { encoding: 'utf8' })
  return /^wrk /.test(probe.stdout + probe.stderr) ? undefined : `${WRK} --version printed ${JSON.stringify(probe.stdout + probe.stderr)}`
}

/** A Lua string literal of `value`'s UTF-8 bytes: printable ASCII as is, every other byte as a 3-digit escape. */
const lua = (value) => `"${[...Buffer.from(value)].map((b) => b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\${String(b).padStart(3, '0')}`).join('')}"`

/** The Lua script: each request takes the next path in turn; a body is read from a file once. */
function script ({ paths, method, headers, bodyFile }) {
  return [
    `local paths = { ${paths.map(lua).join(', ')} }`,
    'local i = 0',
    `wrk.method = ${lua(method)}`,
    ...Object.entries(headers).map(([name, value]) => `wrk.headers[${lua(name)}] = ${lua(value)}`),
    ...(bodyFile === undefined ? [] : [`local f = assert(io.open(${lua(bodyFile)}, "rb"))`, 'wrk.body = f:read("*all")', 'f:close()']),
    'request = function ()',
    '  i = i % #paths + 1',
    '  return wrk.format(nil, paths[i])',
    'end'
    // no response() hook: wrk then copies every response into Lua, costing the client more than the server.
    // wrk counts status > 399 (its "Non-2xx or 3xx responses" line); each scenario checks one answer first.
  ].join('\n')
}

/**
 * One wrk run of `duration` seconds with one thread (the server is one process; the other core is the
 * client's) against `origin` (http://127.0.0.1:port), rotating `paths`. Returns requests/s; throws when
 * anything but 2xx came back or a socket failed, naming the request and one answer to it.
 */
export async function runWrk ({ origin, paths, connections, duration, method = 'GET', headers = {}, bodyFile, label }) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-wrk-'))
  try {
    const scriptPath = join(dir, 'run.lua')
    writeFileSync(scriptPath, script({ paths, method, headers, bodyFile }))
    const child = spawn(WRK, ['-t1', `-c${connections}`, `-d${duration}s`, '--timeout', `${REQUEST_TIMEOUT_S}s`, '-s', scriptPath, origin], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (chunk) => { out += chunk })
    child.stderr.on('data', (chunk) => { out += chunk })
    const [code] = await once(child, 'close')
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
    const requests = Number(/(\d+) requests in/.exec(out)?.[1])
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
    const socketErrors = /Socket errors: (.*)/.exec(out)?.[1]
    if (code !== 0 || !(rps > 0) || non2xx !== 0 || socketErrors !== undefined) {
      const [path] = paths
      throw new Error(`${label}: wrk ${method} ${origin}${path} (and ${paths.length - 1} other paths): exit ${code}, ${JSON.stringify(out.trim())}; the same request once more: ${await probe(origin, path, method, headers)}`)
    }
    return { rps, requests }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function probe (origin, path, method, headers) {
  try {
    const res = await fetchOnce({ port: Number(new URL(origin).port), path, method, headers })
    return `HTTP ${res.status} ${JSON.stringify(res.headers['content-type'] ?? '')} ${JSON.stringify(res.body.subarray(0, 300).toString())}`
  } catch (err) {
    return `failed (${err.code ?? err.message})`
  }
}
