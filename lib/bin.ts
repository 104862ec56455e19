#!/usr/bin/env node
import { main } from './cli/main.js'

// The progress bar redraws one line of stderr; any other output first ends that line.
let barOpen = false
const write = (stream: NodeJS.WriteStream, text: string): void => {
  if (barOpen) process.stderr.write('\n')
  barOpen = false
  stream.write(text + '\n')
}

process.exitCode = await main(process.argv.slice(2), {
  out: (line) => write(process.stdout, line),
  err: (line) => write(process.stderr, line),
  progress: process.stderr.isTTY
    ? (text) => {
        process.stderr.write(`\r${text}`)
        barOpen = true
      }
    : undefined
})
