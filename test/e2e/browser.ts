// Debian's chromium driven by playwright-core: no browser download, the same binary locally and in CI
// (.ci/run installs it). DEVELOPERS.md explains the flags.
import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import type { Tap } from '../helpers.js'

export const CHROMIUM = '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run'
]

/** Why the browser tests cannot run here, or undefined when they can. */
const missing = (): string | undefined => existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} is missing (Debian: apt-get install -y chromium; see DEVELOPERS.md)`

/**
 * A browser for this test file, closed when it ends. Without chromium the file is skipped with the reason,
 * except under CI=true, where a missing browser fails: CI must never pass by skipping its browser tests.
 * launch() gives every run a fresh profile (a new temp --user-data-dir, removed on close).
 */
export async function launchChromium (t: Tap | typeof import('tap').default): Promise<Browser | undefined> {
  const why = missing()
  if (why !== undefined) {
    if (process.env.CI === 'true') t.fail(`browser tests cannot run under CI: ${why}`)
    else t.plan(0, `skipping the browser tests: ${why}`)
    return undefined
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  t.teardown(() => browser.close())
  return browser
}

/** A page in its own context (no cookies or cache shared between tests), closed when the test ends. */
export async function newPage (t: Tap, browser: Browser): Promise<{ page: Page, context: BrowserContext }> {
  const context = await browser.newContext({ acceptDownloads: true })
  t.teardown(() => context.close())
  // a step that waits this long is broken: fail it well inside the suite's minute
  context.setDefaultTimeout(10_000)
  const page = await context.newPage()
  // a page error is a bug in the demo's script: fail on it rather than on a later symptom
  page.on('pageerror', (err) => t.fail(`page error: ${err.message}`))
  return { page, context }
}
