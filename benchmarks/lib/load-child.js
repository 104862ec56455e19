// autocannon in a process of its own, so the load generator never shares a CPU budget with the server
// or the harness. Receives its options over IPC, answers { type: 'result', ... } with the client's CPU.
import autocannon from 'autocannon'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

process.once('message', async ({ options, discardBody }) => {
  if (discardBody) {
    // autocannon appends every response body to a string: for 1 MiB bodies the client runs out of CPU
    // before the server does. The figures do not need the bodies, only their byte counts.
    const Queue = require('autocannon/lib/pipelinedRequestsQueue.js')
    Queue.prototype.addBody = function addBody () {}
  }
  const cpuBefore = process.cpuUsage()
  const started = process.hrtime.bigint()
  const result = await autocannon(options)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const cpu = process.cpuUsage(cpuBefore)
  process.send({
    type: 'result',
    requests: result.requests.total,
    rps: result.requests.total / seconds,
    bytesPerSecond: result.throughput.total / seconds,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: result.statusCodeStats,
    clientCpu: (cpu.user + cpu.system) / 1e6 / seconds,
    seconds
  }, () => process.exit(0))
})
