// Runs the `fastify-media` CLI as a child process (`node dist/bin.js`), as users run it, and what the CLI
// tests check its output against. The fixture project is copied to a temp dir and its app.mjs run in place
// with STATIC_PROJECT_DIR pointing at the copy; the small apps of test/fixtures/cli-apps take their baseDir
// from CLI_APP_DIR.
import { spawn } from 'node:child_process'
import { cpSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, sep } from 'node:path'
import { filesUnder, FIXTURES, tempDir, type Tap } from './helpers.js'

export const ROOT = join(import.meta.dirname, '..')
export const BIN = join(ROOT, 'dist', 'bin.js')
export const PROJECT = join(FIXTURES, 'static-project')
// relative to ROOT, the cwd of every child: the CLI resolves the module path against its cwd
export const PROJECT_APP = join('test', 'fixtures', 'static-project', 'app.mjs')
export const CLI_APPS = join(FIXTURES, 'cli-apps')
export const TIMEOUT = 30_000

export const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

export interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
  ms: number
}

/**
 * Runs a command in its own process group with a hard timeout (the whole group is killed when it expires),
 * collecting stdout and stderr. stdin is /dev/null and stdout/stderr are pipes: not a TTY.
 */
export async function run (command: string, args: string[], { env = {}, timeout = TIMEOUT }: { env?: Record<string, string>, timeout?: number } = {}): Promise<Run> {
  return await new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    const timer = setTimeout(() => {
      timedOut = true
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {}
    }, timeout)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, timedOut, ms: Math.round(performance.now() - started) })
    })
  })
}

/** `fastify-media <args>` on the fixture project copied to `project`. */
export const cli = async (args: string[], env: Record<string, string> = {}): Promise<Run> => await run(process.execPath, [BIN, ...args], { env })
export const onProject = async (project: string, args: string[]): Promise<Run> => await cli(args, { STATIC_PROJECT_DIR: project })
export const lines = (text: string): string[] => text === '' ? [] : text.replace(/\n$/, '').split('\n')

/** A temp copy of the fixture project, removed when the test ends. */
export function copyProject (t: Tap): string {
  const dir = tempDir(t)
  cpSync(PROJECT, dir, { recursive: true })
  return dir
}

// What app.mjs configures: static.dirs static-a then static-b, and plugin-static added under `plugin`.
export const STATIC_DIRS = [{ prefix: '', dir: 'static-a' }, { prefix: '', dir: 'static-b' }, { prefix: 'plugin', dir: 'plugin-static' }]
// Django's default ignore patterns `.*`, `*~` and `CVS`, tried on every segment
export const ignoredByDefault = (path: string): boolean => path.split('/').some((s) => s.startsWith('.') || s.endsWith('~') || s === 'CVS')

/**
 * What collectstatic should find in a pristine copy of the fixture, worked out from the tree itself: the
 * winning paths (sorted) with their sources, and the paths that lose to an earlier dir with that dir.
 */
export function expectedFiles (project: string, leaveOut: (path: string) => boolean = () => false) {
  const winners = new Map<string, string>()
  const shadowed: Array<{ path: string, dir: string }> = []
  for (const { prefix, dir } of STATIC_DIRS) {
    for (const relative of filesUnder(join(project, dir))) {
      const path = (prefix === '' ? '' : `${prefix}/`) + relative.split(sep).join('/')
      if (ignoredByDefault(path) || leaveOut(path)) continue
      if (winners.has(path)) shadowed.push({ path, dir: join(project, dir) })
      else winners.set(path, join(project, dir, relative))
    }
  }
  return { paths: [...winners.keys()].sort(), sources: winners, shadowed }
}

export const duplicateLine = ({ path, dir }: { path: string, dir: string }): string =>
  `Found another file with the destination path '${path}' in ${dir}. It will be ignored since only the first encountered file is collected.`
export const summaryLine = (copied: number, unmodified: number, postProcessed: number): string =>
  `${copied} copied, ${unmodified} unmodified, ${postProcessed} post-processed`

/** path -> size and mtime of every file under a dir, to prove a run wrote nothing. */
export function snapshot (dir: string): Record<string, string> {
  return Object.fromEntries(filesUnder(dir).map((path) => {
    const info = statSync(join(dir, path))
    return [path, `${info.size}@${info.mtimeMs}`]
  }))
}

export const isVariant = (path: string): boolean => /\.(br|gz)$/.test(path)
export const withoutVariants = (paths: string[]): string[] => paths.filter((path) => !isVariant(path))
export const posix = (paths: string[]): string[] => paths.map((path) => path.split(sep).join('/'))

/** A temp CLI_APP_DIR with a static dir of two files, the CSS referencing the image. */
export function appDir (t: Tap): string {
  const dir = tempDir(t)
  mkdirSync(join(dir, 'static', 'css'), { recursive: true })
  mkdirSync(join(dir, 'static', 'img'))
  writeFileSync(join(dir, 'static', 'css', 'site.css'), 'body { background: url(../img/dot.png); }\n')
  writeFileSync(join(dir, 'static', 'img', 'dot.png'), readFileSync(join(FIXTURES, 'fixture.png')))
  return dir
}
export const appModule = (name: string): string => join(CLI_APPS, name)
