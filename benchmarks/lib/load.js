import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { resultOf } from './child.js'
import { fetchOnce } from './http.js'

const LOAD_CHILD = fileURLToPath(new URL('./load-child.js', import.meta.url))
// autocannon's default is 10 s a request: a busy machine (CI next to other jobs) must slow a run, never fail it
const REQUEST_TIMEOUT_S = 60

/**
 * One autocannon run against a server, from its own process. `discardBody` stops autocannon from
 * collecting response bodies (see load-child.js). Returns requests/s, the client's CPU (1 = one core)
 * and the status counts; throws when anything but 2xx came back, naming the request and one answer to it.
 */
export async function runLoad ({ url, connections, duration, method = 'GET', headers = {}, body, requests, discardBody = false, label }) {
  // `requests` ([{ path }...]): each connection takes them in turn
  const options = { url, connections, duration, method, headers, body, requests, timeout: REQUEST_TIMEOUT_S }
  let result = await loadOnce(options, discardBody)
  if (result.ok === 0 && result.non2xx === 0 && result.errors === 0) {
    // no request finished inside the window (a starved server): count requests instead of seconds
    const { duration: _, ...counted } = options
    result = await loadOnce({ ...counted, amount: connections * 4 }, discardBody)
  }
  if (result.ok === 0 || result.non2xx > 0 || result.errors > 0) {
    const counts = `${result.ok} 2xx, ${result.non2xx} non-2xx ${JSON.stringify(result.statusCodes)}, ${result.errors} errors, ${result.timeouts} timeouts (of ${REQUEST_TIMEOUT_S} s)`
    throw new Error(`${label}: ${method} ${url} under load: ${counts}; the same request once more: ${await probe(options)}`)
  }
  return result
}

async function loadOnce (options, discardBody) {
  const child = fork(LOAD_CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' })
  child.send({ options, discardBody })
  return await resultOf(child, 'result')
}

/** What the server answers to one more such request, for a failure's message. */
async function probe ({ url, method, headers, body }) {
  const { port, pathname, search } = new URL(url)
  try {
    const res = await fetchOnce({ port: Number(port), path: pathname + search, method, headers, body })
    return `HTTP ${res.status} ${JSON.stringify(res.headers['content-type'] ?? '')} ${JSON.stringify(res.body.subarray(0, 300).toString())}`
  } catch (err) {
    return `failed (${err.code ?? err.message})`
  }
}
