/**
 * The batch's parts without a server: reading batch files (mapping, idempotency keys, bad lines,
 * duplicate custom_ids), recovering a torn output, the SSE parser and the progress line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recoverOutput } from '../src/batch/checkpoint.ts';
import { readBatchInput } from '../src/batch/input.ts';
import { ProgressReporter } from '../src/batch/progress.ts';
import { parseSse } from '../src/sse.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-cli-parts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, lines: unknown[]) => {
  const path = join(dir, name);
  writeFileSync(path, `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`);
  return path;
};

const chat = (id: string, body: Record<string, unknown> = {}) => ({
  custom_id: id,
  method: 'POST',
  url: '/v1/chat/completions',
  body: { model: 'mock/echo', messages: [{ role: 'user', content: id }], ...body },
});

describe('readBatchInput', () => {
  it('maps chat-completions bodies to jobs and notes the fields it drops', async () => {
    const path = write('a.jsonl', [
      chat('a', { max_completion_tokens: 9, top_p: 0.5, presence_penalty: 0.5, stream: true }),
      chat('b', {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'one' },
              { type: 'text', text: 'two' },
            ],
          },
        ],
      }),
    ]);
    const input = await readBatchInput(path);
    expect(input.lines[0]?.request).toEqual({ model: 'mock/echo', messages: [{ role: 'user', content: 'a' }], max_tokens: 9, top_p: 0.5 });
    expect(input.lines[1]?.request?.messages[0]?.content).toBe('one\ntwo');
    expect([...input.ignoredFields]).toEqual([['presence_penalty', 1]]);
    const withModel = await readBatchInput(path, { model: 'mock/other' });
    expect(withModel.lines.every((l) => l.request?.model === 'mock/other')).toBe(true);
  });

  it('derives stable idempotency keys from the content and custom_id, different for another file', async () => {
    const one = await readBatchInput(write('k1.jsonl', [chat('x'), chat('needs hashing / spaces')]));
    const same = await readBatchInput(write('k2.jsonl', [chat('x'), chat('needs hashing / spaces')]));
    const other = await readBatchInput(write('k3.jsonl', [chat('x'), chat('y')]));
    expect(one.lines.map((l) => l.idempotencyKey)).toEqual(same.lines.map((l) => l.idempotencyKey));
    expect(one.lines[0]?.idempotencyKey).not.toBe(other.lines[0]?.idempotencyKey);
    for (const line of one.lines) expect(line.idempotencyKey).toMatch(/^[\x21-\x7e]{1,255}$/);
  });

  it('keeps a bad line in its place with the reason, and skips blank lines', async () => {
    const input = await readBatchInput(
      write('bad.jsonl', [chat('ok'), '{not json', '', { custom_id: 'u', url: '/v1/embeddings', body: {} }]),
    );
    expect(input.lines.map((l) => l.customId)).toEqual(['ok', 'line-2', 'u']);
    expect(input.lines[1]?.invalid).toMatch(/^line 2: /);
    expect(input.lines[2]?.invalid).toContain('/v1/embeddings');
  });

  it('rejects repeated custom_ids, naming them', async () => {
    await expect(readBatchInput(write('dup.jsonl', [chat('same'), chat('same')]))).rejects.toThrow(/"same" \(lines 1 and 2\)/);
  });
});

describe('recoverOutput', () => {
  it('keeps complete lines with the expected custom_ids and cuts a torn tail', async () => {
    const input = await readBatchInput(write('r.jsonl', [chat('r0'), chat('r1'), chat('r2')]));
    const out = join(dir, 'r.out.jsonl');
    const ok = (id: string) =>
      JSON.stringify({ id: `batch_req_${id}`, custom_id: id, response: { status_code: 200, body: {} }, error: null });
    writeFileSync(
      out,
      `${ok('r0')}\n${JSON.stringify({ custom_id: 'r1', response: null, error: { code: 'timeout', message: 'x' } })}\n{"custom_id":"r2","resp`,
    );
    expect(await recoverOutput(out, input)).toEqual({ written: 2, succeeded: 1, failed: 1 });
    expect(readFileSync(out, 'utf8').split('\n')).toHaveLength(3);
    writeFileSync(out, `${ok('r0')}\n${ok('r2')}\n`);
    expect((await recoverOutput(out, input)).written).toBe(1);
  });
});

describe('parseSse', () => {
  it('reads events split across chunks, skipping comments', async () => {
    const chunks = ['event: state\ndata: {"status":"act', 'ive"}\n\n: keep-alive\n\r\n', 'event: token\r\ndata: {"delta":"hi"}\r\n\r\n'];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
        controller.close();
      },
    });
    const events = [];
    for await (const e of parseSse(body)) events.push(e);
    expect(events).toEqual([
      { event: 'state', data: '{"status":"active"}' },
      { event: 'token', data: '{"delta":"hi"}' },
    ]);
  });
});

describe('ProgressReporter', () => {
  it('shows count, percent, rate, ETA: a bar on a terminal, a plain line otherwise', () => {
    const figures = { total: 1000, done: 250, failed: 3, inFlight: 32, finishedThisRun: 0 };
    const plain = new ProgressReporter(() => figures, process.stderr, { tty: false });
    figures.finishedThisRun = 0;
    plain.rate(Date.now() - 2_000);
    figures.finishedThisRun = 200;
    expect(plain.line()).toMatch(/^progress: 250\/1000 {2}25\.0% {2}\d+\.\d\/s {2}ETA \d+s {2}failed 3 {2}in flight 32$/);
    const tty = new ProgressReporter(() => figures, process.stderr, { tty: true });
    expect(tty.line()).toMatch(/^\[#{6}-{18}\] 250\/1000/);
  });
});
