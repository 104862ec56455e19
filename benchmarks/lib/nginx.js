// nginx from the distribution, as a non-daemon child with a generated config on a loopback port.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const NGINX = process.env.NGINX ?? '/usr/sbin/nginx'

/** Why nginx cannot run here, or undefined when it can. */
export function nginxMissing () {
  if (!existsSync(NGINX)) return `${NGINX} is not installed (set NGINX=/path/to/nginx)`
  const version = spawnSync(NGINX, ['-v'], { encoding: 'utf8' })
  return version.status === 0 ? undefined : `${NGINX} -v failed: ${version.stderr}`
}

export function nginxVersion () {
  return spawnSync(NGINX, ['-v'], { encoding: 'utf8' }).stderr.trim().replace(/^nginx version: /, '')
}

async function freePort () {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * Serves `root` under /static/ with sendfile and gzip_static (Debian's nginx has no brotli module, so a
 * `br`-only client gets the identity file). One worker: the node servers are one process each too.
 */
export async function startNginx (root) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-nginx-'))
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub))
  const port = await freePort()
  writeFileSync(join(dir, 'nginx.conf'), `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location /static/ {
      alias ${root}/;
      gzip_static on;
      gzip_vary on;
      add_header Cache-Control "public, max-age=31536000, immutable";
    }
  }
}
`)
  const child = spawn(NGINX, ['-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'inherit', 'inherit'] })
  const exited = once(child, 'exit')
  await waitForPort(port, exited, () => readFileSync(join(dir, 'error.log'), 'utf8'))
  return {
    port,
    async close () {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

async function waitForPort (port, exited, log) {
  let done = false
  exited.then(() => { done = true })
  for (let i = 0; i < 100; i++) {
    if (done) throw new Error(`nginx exited: ${log()}`)
    const up = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => { socket.end(); resolve(true) })
      socket.on('error', () => resolve(false))
    })
    if (up) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`nginx did not listen on ${port}: ${log()}`)
}
