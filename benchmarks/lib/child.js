// A server in its own child process. Each server script listens on 127.0.0.1:0 and talks over IPC:
// it sends { type: 'ready', port } once listening, answers 'stats' with { type: 'stats', maxRSS, cpu }
// (the kernel's peak RSS over the child's life, and its CPU time in microseconds), and exits on 'close'.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const SERVERS = fileURLToPath(new URL('../servers/', import.meta.url))
const CLIENTS = fileURLToPath(new URL('./', import.meta.url))
// generous: a server starting next to other heavy jobs is slow, not broken
const STARTUP_TIMEOUT = 120_000
let execArgv = []

/** `--cpu-prof DIR`: every server child writes a V8 CPU profile there when it exits. */
export function profileServersInto (dir) {
  execArgv = ['--cpu-prof', `--cpu-prof-dir=${dir}`]
}

/** `options.execArgv`: Node flags the server needs besides the run's own. */
export async function startServer (script, config, options = {}) {
  const child = fork(SERVERS + script, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...execArgv, ...(options.execArgv ?? [])] })
  const exited = once(child, 'exit')
  const ready = await Promise.race([
    nextMessage(child, 'ready'),
    exited.then(([code]) => { throw new Error(`${script} exited with ${code} before listening`) }),
    timeout(STARTUP_TIMEOUT, `${script} did not listen within ${STARTUP_TIMEOUT / 1000} s`)
  ])
  return {
    port: ready.port,
    info: ready.info,
    startRss: ready.startRss,
    async stats () {
      child.send('stats')
      return await nextMessage(child, 'stats')
    },
    async close () {
      if (child.exitCode !== null) return
      child.send('close')
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(killer)
    }
  }
}

/**
 * A client script of lib/ in a process of its own: sends it `options`, resolves its { type: 'result' }
 * message, throws its `error` when it sends one. Advanced serialization: Buffers go over IPC as Buffers.
 */
export async function runClient (script, options) {
  const child = fork(CLIENTS + script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' })
  child.send(options)
  const result = await resultOf(child, 'result')
  if (result.error !== undefined) throw new Error(result.error)
  return result
}

export function nextMessage (child, type) {
  return new Promise((resolve) => {
    const listener = (message) => {
      if (message?.type !== type) return
      child.off('message', listener)
      resolve(message)
    }
    child.on('message', listener)
  })
}

/** The child's message of `type`, or an error when it exits without sending one. */
export async function resultOf (child, type) {
  const exited = once(child, 'exit').then(([code, signal]) => { throw new Error(`${child.spawnfile} ${child.spawnargs.at(1)} exited (${code ?? signal}) before answering`) })
  exited.catch(() => {})
  return await Promise.race([nextMessage(child, type), exited])
}

function timeout (ms, message) {
  return new Promise((resolve, reject) => setTimeout(() => reject(new Error(message)), ms).unref())
}
