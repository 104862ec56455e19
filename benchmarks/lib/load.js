import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { resultOf } from './child.js'

const LOAD_CHILD = fileURLToPath(new URL('./load-child.js', import.meta.url))

/**
 * One autocannon run against a server, from its own process. `discardBody` stops autocannon from
 * collecting response bodies (see load-child.js). Returns requests/s, the client's CPU (1 = one core)
 * and the status counts; throws when anything but 2xx came back.
 */
export async function runLoad ({ url, connections, duration, method = 'GET', headers = {}, body, discardBody = false, label }) {
  const child = fork(LOAD_CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' })
  child.send({ options: { url, connections, duration, method, headers, body }, discardBody })
  const result = await resultOf(child, 'result')
  if (result.ok === 0 || result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${label}: ${result.ok} 2xx, ${result.non2xx} non-2xx ${JSON.stringify(result.statusCodes)}, ${result.errors} errors, ${result.timeouts} timeouts`)
  }
  return result
}
