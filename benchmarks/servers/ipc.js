// The server side of lib/child.js: report 'ready', answer 'stats' (with what the server's own `stats()` adds),
// close on 'close'.
export function config () {
  return JSON.parse(process.argv[2] ?? '{}')
}

export function serve ({ port, info, close, stats = () => ({}) }) {
  process.on('message', (message) => {
    if (message === 'stats') {
      const { maxRSS } = process.resourceUsage()
      const { user, system } = process.cpuUsage()
      process.send({ ...stats(), type: 'stats', maxRSS: maxRSS * 1024, cpu: user + system })
    } else if (message === 'close') {
      Promise.resolve(close()).then(() => process.exit(0), () => process.exit(1))
    }
  })
  process.on('disconnect', () => process.exit(0))
  // the peak RSS so far: what the server holds before any request (its imports, sharp's library...)
  process.send({ type: 'ready', port, info, startRss: process.resourceUsage().maxRSS * 1024 })
}
