#!/usr/bin/env node
import { main } from './cli/main.js'

process.exitCode = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  progress: process.stderr.isTTY ? (text) => process.stderr.write(`\r${text}`) : undefined
})
if (process.stderr.isTTY) process.stderr.write('\n')
