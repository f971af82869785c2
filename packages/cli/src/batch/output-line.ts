/**
 * Owns the shape of a batch output line, as OpenAI's batch output files have it:
 *   {id, custom_id, response: {status_code, request_id, body} | null, error: {code, message} | null}
 * A completed job's body is a chat.completion; a job that failed has `error` {code: its error
 * class}; a line the API refused has the API's status and error body; a line that could not be
 * read has `error` {code: "invalid_line"}.
 */
import type { JobView } from '@switchyard/shared';
import type { BatchLine } from './input.ts';

export interface OutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: unknown } | null;
  error: { code: string; message: string } | null;
}

const lineId = (line: BatchLine, jobId?: string) => `batch_req_${jobId ?? `line${line.lineNo}`}`;

export function fromJob(line: BatchLine, view: JobView): OutputLine {
  if (view.status === 'completed' && view.result) {
    const r = view.result;
    const created = Math.floor(Date.parse(view.finished_at ?? view.created_at ?? '') / 1000) || Math.floor(Date.now() / 1000);
    return {
      id: lineId(line, view.id),
      custom_id: line.customId,
      response: {
        status_code: 200,
        request_id: view.id,
        body: {
          id: `chatcmpl-${view.id}`,
          object: 'chat.completion',
          created,
          model: r.model,
          choices: [{ index: 0, message: { role: 'assistant', content: r.content }, finish_reason: r.finish_reason, logprobs: null }],
          usage: r.usage,
          switchyard: { job_id: view.id, provider: r.provider, latency_ms: r.latency_ms, attempts: r.attempts.length },
        },
      },
      error: null,
    };
  }
  const error = view.error ?? { class: view.status === 'cancelled' ? 'aborted' : 'service_unavailable', message: `job ${view.status}` };
  return {
    id: lineId(line, view.id),
    custom_id: line.customId,
    response: null,
    error: { code: view.status === 'cancelled' ? 'cancelled' : error.class, message: error.message },
  };
}

export function fromRejection(line: BatchLine, status: number, body: unknown): OutputLine {
  return { id: lineId(line), custom_id: line.customId, response: { status_code: status, request_id: '', body }, error: null };
}

export function fromInvalid(line: BatchLine, message: string): OutputLine {
  return { id: lineId(line), custom_id: line.customId, response: null, error: { code: 'invalid_line', message } };
}

export function isSuccess(line: OutputLine): boolean {
  return line.response?.status_code === 200 && line.error === null;
}

/** The job was submitted but is no longer on the server (retention, or removed by an operator). */
export function fromLost(line: BatchLine, jobId: string): OutputLine {
  return {
    id: lineId(line, jobId),
    custom_id: line.customId,
    response: null,
    error: { code: 'job_not_found', message: `job ${jobId} is no longer on the server; rerun with --restart to submit the line again` },
  };
}
