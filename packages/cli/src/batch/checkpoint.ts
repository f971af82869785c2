/**
 * Owns resuming: the small state file next to --out (`<out>.state.json`: which input it belongs
 * to, by content hash, and the counts so far; written atomically) and recovery of the output
 * itself. The output is written in input order, so after any interruption (Ctrl-C, kill -9, a
 * crash) it is a run of complete lines, maybe followed by a torn one: recovery keeps every
 * complete line whose custom_id is the one expected at its place and cuts the file there. The
 * run then goes on from the first missing line; lines that were in flight get their jobs back
 * through their idempotency keys, so nothing is submitted twice.
 */
import { openSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { UsageError } from '../config.ts';
import type { BatchInput } from './input.ts';
import { isSuccess, type OutputLine } from './output-line.ts';

export interface BatchState {
  version: 1;
  input: string;
  input_sha256: string;
  total: number;
  /** Lines in the output so far, and how many of them succeeded. */
  written: number;
  succeeded: number;
  failed: number;
  /** Over every run, as last saved (a killed run's last moments are missing): jobs created, and jobs the server already had. */
  submitted: number;
  replayed: number;
  runs: number;
  started_at: string;
  updated_at: string;
  done: boolean;
}

export const statePath = (out: string) => `${out}.state.json`;

export function loadState(out: string): BatchState | null {
  let text: string;
  try {
    text = readFileSync(statePath(out), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const state = JSON.parse(text) as BatchState;
    if (state.version !== 1 || typeof state.input_sha256 !== 'string') throw new Error('unknown version');
    return state;
  } catch {
    throw new UsageError(`${statePath(out)} is not a batch state file this CLI can read. Fix: delete it and rerun with --restart.`);
  }
}

export function saveState(out: string, state: BatchState): void {
  state.updated_at = new Date().toISOString();
  const path = statePath(out);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

export function newState(input: BatchInput): BatchState {
  const now = new Date().toISOString();
  return {
    version: 1,
    input: input.path,
    input_sha256: input.sha256,
    total: input.lines.length,
    written: 0,
    succeeded: 0,
    failed: 0,
    submitted: 0,
    replayed: 0,
    runs: 0,
    started_at: now,
    updated_at: now,
    done: false,
  };
}

export interface Recovered {
  written: number;
  succeeded: number;
  failed: number;
}

/** Keeps the output's valid prefix (complete lines, expected custom_ids, in order) and cuts the rest. */
export async function recoverOutput(out: string, input: BatchInput): Promise<Recovered> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(out, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { written: 0, succeeded: 0, failed: 0 };
    throw err;
  }
  const recovered: Recovered = { written: 0, succeeded: 0, failed: 0 };
  let keptBytes = 0;
  let carry = '';
  try {
    outer: for await (const chunk of handle.createReadStream({ encoding: 'utf8' })) {
      carry += chunk as string;
      let newline = carry.indexOf('\n');
      while (newline !== -1) {
        const text = carry.slice(0, newline);
        carry = carry.slice(newline + 1);
        newline = carry.indexOf('\n');
        const expected = input.lines[recovered.written];
        let line: OutputLine | null = null;
        try {
          line = JSON.parse(text) as OutputLine;
        } catch {
          line = null;
        }
        if (!expected || !line || line.custom_id !== expected.customId) break outer;
        recovered.written += 1;
        if (isSuccess(line)) recovered.succeeded += 1;
        else recovered.failed += 1;
        keptBytes += Buffer.byteLength(text) + 1;
      }
    }
  } finally {
    await handle.close();
  }
  truncateSync(out, keptBytes);
  return recovered;
}

/** Starts the output over: an empty file. */
export function resetOutput(out: string): void {
  writeFileSync(out, '');
}

/** An append-only handle on the output. */
export function openOutput(out: string): number {
  return openSync(out, 'a');
}
