// A real Redis for the tests: Debian's redis-server, started per test on a unix socket in a temp directory
// (no TCP port to race for, nothing reachable off the machine), without persistence, stopped at teardown.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { tempDir, type Tap } from './helpers.js'
import { within } from './http-helpers.js'

const REDIS_SERVER = '/usr/bin/redis-server'

export interface TestRedis {
  /** The socket to connect to: `new Redis({ path })`. */
  path: string
  /** A client, closed at teardown. */
  client: () => Redis
}

/**
 * A redis-server for this test, or undefined (the test planned 0 with the reason) when Debian's redis-server
 * is missing. Under CI=true a missing server fails: CI must never pass by skipping its Redis tests.
 */
export async function startRedis (t: Tap): Promise<TestRedis | undefined> {
  if (!existsSync(REDIS_SERVER)) {
    const why = `${REDIS_SERVER} is missing (Debian: apt-get install -y redis-server; see DEVELOPERS.md)`
    if (process.env.CI === 'true') t.fail(`the Redis tests cannot run under CI: ${why}`)
    else t.plan(0, `skipping: ${why}`)
    return undefined
  }
  const path = join(tempDir(t), 'redis.sock')
  const server = spawn(REDIS_SERVER, ['--port', '0', '--unixsocket', path, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const clients: Redis[] = []
  // the clients go first, so none of them tries to reconnect to a stopped server
  t.teardown(async () => {
    for (const client of clients) client.disconnect()
    const exited = once(server, 'exit')
    server.kill('SIGKILL')
    await exited
  })
  let out = ''
  await within(new Promise<void>((resolve, reject) => {
    server.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (/ready to accept connections/i.test(out)) resolve()
    })
    server.once('exit', (code) => { reject(new Error(`redis-server exited (${code}): ${out}`)) })
  }), 'redis-server ready')
  server.stdout.resume()
  return {
    path,
    client: () => {
      // no reconnecting: a test that stops a connection means it (its duplicates inherit this)
      const client = new Redis({ path, retryStrategy: () => null })
      clients.push(client)
      return client
    }
  }
}
