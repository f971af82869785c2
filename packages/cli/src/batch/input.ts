/**
 * Owns reading a batch input file: OpenAI batch-file lines ({custom_id, method, url, body}), each
 * mapped to a Switchyard job (chat-completions bodies: model, messages, max_tokens, temperature, top_p;
 * Switchyard's own fields pass through), and each given an idempotency key derived from the
 * file's content and the line's custom_id (or line number), so a rerun of the same file maps
 * every line to the job it already has. A line that cannot be a job is kept, with the reason:
 * it becomes an error line of the output, in its place.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ChatMessage, JobRequest } from '@switchyard/shared';
import { UsageError } from '../config.ts';

export interface BatchLine {
  /** 0-based position among the requests: the output's order. */
  index: number;
  /** 1-based line number in the file. */
  lineNo: number;
  customId: string;
  idempotencyKey: string;
  request?: JobRequest;
  /** Why the line cannot be submitted. */
  invalid?: string;
}

export interface BatchInput {
  path: string;
  sha256: string;
  lines: BatchLine[];
  /** Body fields Switchyard does not take, with how many lines had them. */
  ignoredFields: Map<string, number>;
}

const SUPPORTED_URLS = new Set(['/v1/chat/completions', '/v1/jobs']);
/** Chat-completions fields a job takes as they are. */
const PASSED = ['model', 'messages', 'max_tokens', 'temperature', 'top_p', 'fallbacks', 'budget_ms', 'priority', 'metadata'] as const;
/** Fields that mean nothing for a batch line: dropped without a warning. */
const SILENT = new Set(['stream', 'stream_options', 'max_completion_tokens']);
const SAFE_ID = /^[A-Za-z0-9._:@-]{1,160}$/;

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

export function idempotencyKey(fileSha: string, customId: string | undefined, lineNo: number): string {
  const id = customId === undefined ? `line-${lineNo}` : SAFE_ID.test(customId) ? `id-${customId}` : `h-${sha256(customId).slice(0, 40)}`;
  return `sy-batch-${fileSha.slice(0, 20)}-${id}`;
}

function textContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: { type?: unknown; text?: unknown }) => {
        if (part?.type === 'text' && typeof part.text === 'string') return part.text;
        throw new Error(`content part of type "${String(part?.type)}" is not supported (text only)`);
      })
      .join('\n');
  }
  throw new Error('message content must be a string or an array of text parts');
}

/** Maps a chat-completions body to a job; notes the fields it drops. */
export function toJobRequest(body: Record<string, unknown>, url: string, ignored: Map<string, number>, model?: string): JobRequest {
  const job: Record<string, unknown> = {};
  if (url === '/v1/jobs') Object.assign(job, body);
  else {
    for (const field of PASSED) if (body[field] !== undefined) job[field] = body[field];
    if (job.max_tokens === undefined && body.max_completion_tokens !== undefined) job.max_tokens = body.max_completion_tokens;
    for (const field of Object.keys(body)) {
      if (!(PASSED as readonly string[]).includes(field) && !SILENT.has(field)) ignored.set(field, (ignored.get(field) ?? 0) + 1);
    }
  }
  delete job.stream;
  if (!Array.isArray(job.messages)) throw new Error('body.messages must be an array of {role, content}');
  job.messages = (job.messages as Array<Record<string, unknown>>).map((m) => {
    const message: Record<string, unknown> = { role: m?.role, content: textContent(m?.content) };
    if (typeof m?.name === 'string') message.name = m.name;
    return message as unknown as ChatMessage;
  });
  if (model) job.model = model;
  return job as unknown as JobRequest;
}

export async function readBatchInput(path: string, options: { model?: string | undefined } = {}): Promise<BatchInput> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const fileSha = sha256(raw);
  const ignoredFields = new Map<string, number>();
  const lines: BatchLine[] = [];
  const seen = new Map<string, number>();
  const duplicates: string[] = [];
  raw
    .toString('utf8')
    .split('\n')
    .forEach((text, i) => {
      const lineNo = i + 1;
      if (text.trim() === '') return;
      let customId: string | undefined;
      let request: JobRequest | undefined;
      let invalid: string | undefined;
      try {
        const parsed = JSON.parse(text) as Record<string, unknown>;
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('a line must be a JSON object');
        if (parsed.custom_id !== undefined) customId = String(parsed.custom_id);
        const url = parsed.url === undefined ? '/v1/chat/completions' : String(parsed.url);
        if (!SUPPORTED_URLS.has(url)) throw new Error(`url "${url}" is not supported (use /v1/chat/completions)`);
        if (parsed.method !== undefined && String(parsed.method).toUpperCase() !== 'POST') throw new Error('method must be POST');
        if (typeof parsed.body !== 'object' || parsed.body === null) throw new Error('body must be an object');
        request = toJobRequest(parsed.body as Record<string, unknown>, url, ignoredFields, options.model);
      } catch (err) {
        invalid = `line ${lineNo}: ${(err as Error).message}`;
      }
      if (customId !== undefined) {
        if (seen.has(customId)) duplicates.push(`"${customId}" (lines ${seen.get(customId)} and ${lineNo})`);
        else seen.set(customId, lineNo);
      }
      lines.push({
        index: lines.length,
        lineNo,
        customId: customId ?? `line-${lineNo}`,
        idempotencyKey: idempotencyKey(fileSha, customId, lineNo),
        ...(request ? { request } : {}),
        ...(invalid ? { invalid } : {}),
      });
    });
  if (duplicates.length > 0) {
    throw new UsageError(
      `custom_id must be unique within a batch; repeated: ${duplicates.slice(0, 5).join(', ')}${duplicates.length > 5 ? '...' : ''}`,
    );
  }
  if (lines.length === 0) throw new UsageError(`${path} has no request lines`);
  return { path, sha256: fileSha, lines, ignoredFields };
}
