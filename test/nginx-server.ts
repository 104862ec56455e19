// A real nginx for the tests: Debian's, started per test as a child process on a loopback port, with a
// generated config fragment inside a server block of its own (temp paths, no daemon, one process), stopped
// at teardown.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, readFileSync, watch, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { tempDir, type Tap } from './helpers.js'
import { within } from './http-helpers.js'

export const NGINX = '/usr/sbin/nginx'

/**
 * Whether nginx can run here; when it cannot, the test plans 0 with the reason, or fails under CI=true
 * (CI must never pass by skipping its nginx tests).
 */
export function nginxHere (t: Tap): boolean {
  if (existsSync(NGINX)) return true
  const why = `${NGINX} is missing (Debian: apt-get install -y nginx; see DEVELOPERS.md)`
  if (process.env.CI === 'true') t.fail(`the nginx tests cannot run under CI: ${why}`)
  else t.plan(0, `skipping: ${why}`)
  return false
}

/** The whole nginx.conf around a fragment: one process in the foreground, every path in `dir`. */
function wrap (dir: string, port: number, fragment: string): string {
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub), { recursive: true })
  writeFileSync(join(dir, 'fragment.conf'), fragment)
  return `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    server_name localhost;
    include ${dir}/fragment.conf;
  }
}
`
}

/** `nginx -t` of a fragment: its exit code and what it printed. */
export function testConfig (t: Tap, fragment: string): { status: number | null, output: string } {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'nginx.conf'), wrap(dir, 1, fragment))
  const result = spawnSync(NGINX, ['-t', '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' })
  return { status: result.status, output: result.stdout + result.stderr }
}

async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

/** nginx serving `fragment` on a loopback port; its origin. Ready once it wrote its pid file (after binding). */
export async function startNginx (t: Tap, fragment: string): Promise<{ origin: string, port: number }> {
  const dir = tempDir(t)
  const port = await freePort()
  writeFileSync(join(dir, 'nginx.conf'), wrap(dir, port, fragment))
  const pidFile = join(dir, 'nginx.pid')
  const watcher = watch(dir)
  const ready = new Promise<void>((resolve) => {
    watcher.on('change', () => { if (existsSync(pidFile)) resolve() })
  })
  const child = spawn(NGINX, ['-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'inherit', 'inherit'] })
  const exited = once(child, 'exit')
  t.teardown(async () => {
    watcher.close()
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await exited
    }
  })
  const log = (): string => existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''
  await within(Promise.race([
    ready,
    exited.then(([code]) => { throw new Error(`nginx exited (${String(code)}): ${log()}`) })
  ]), 'nginx listening')
  watcher.close()
  return { origin: `http://127.0.0.1:${port}`, port }
}
