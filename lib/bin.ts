#!/usr/bin/env node
import { main } from './cli/main.js'

// The progress bar redraws one line of stderr; any other output first ends that line.
let barOpen = false
const write = (stream: NodeJS.WriteStream, text: string): void => {
  if (barOpen) process.stderr.write('\n')
  barOpen = false
  stream.write(text + '\n')
}

const code = await main(process.argv.slice(2), {
  out: (line) => write(process.stdout, line),
  err: (line) => write(process.stderr, line),
  progress: process.stderr.isTTY
    ? (text) => {
        process.stderr.write(`\r${text}`)
        barOpen = true
      }
    : undefined
})
// Exit explicitly once the output is out: whatever the app module left running (a timer, a pool, a top
// level still waiting) must not keep the command alive.
await Promise.all([process.stdout, process.stderr].map(async (stream) => await new Promise((resolve) => stream.write('', resolve))))
process.exit(code)
