#!/usr/bin/env -S node --import tsx
/** The `switchyard` entry point: runs the command line and exits with its status. */
import { main } from './cli.ts';

const code = await main(process.argv.slice(2));
// Requests still in flight (an interrupted batch) must not keep the process alive.
process.exit(code);
