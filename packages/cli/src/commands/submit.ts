/**
 * Owns `switchyard submit`: builds a job from a prompt (arguments or stdin) and flags, or takes a
 * whole JSON body from --file, submits it (with --idempotency-key when given) and prints the id;
 * with --wait, waits for the final state and prints the answer.
 */
import { readFile } from 'node:fs/promises';
import type { JobRequest } from '@switchyard/shared';
import { COMMON_HELP, clientFrom, parseCommand, UsageError } from '../config.ts';
import { printJson, stderr, stdout, summaryLine } from '../output.ts';

export const SUBMIT_HELP = `Usage: switchyard submit [options] [prompt...]

Submits one job (POST /v1/jobs) and prints its id. The prompt comes from the arguments, else stdin.

Options:
  -m, --model <provider/model>   e.g. mock/echo, openai/gpt-4o-mini (default: the server's DEFAULT_MODEL)
  --system <text>                a system message before the prompt
  --fallback <model>             a fallback model (repeatable)
  --max-tokens <n>  --temperature <t>  --budget-ms <n>  --priority <n>
  --file <path>                  the whole job body as JSON ("-" for stdin) instead of a prompt
  --idempotency-key <key>        resubmitting with the same key returns the same job
  -w, --wait                     wait for the result and print it (exit 1 if the job fails)

${COMMON_HELP}`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function num(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${raw}"`);
  return n;
}

export async function submitCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {
    model: { type: 'string', short: 'm' },
    system: { type: 'string' },
    fallback: { type: 'string', multiple: true },
    'max-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'budget-ms': { type: 'string' },
    priority: { type: 'string' },
    file: { type: 'string' },
    'idempotency-key': { type: 'string' },
    wait: { type: 'boolean', short: 'w', default: false },
  });
  if (values.help) {
    stdout(SUBMIT_HELP);
    return 0;
  }
  let job: JobRequest;
  if (values.file) {
    const text = values.file === '-' ? await readStdin() : await readFile(values.file, 'utf8');
    try {
      job = JSON.parse(text) as JobRequest;
    } catch (err) {
      throw new UsageError(`--file ${values.file} is not JSON: ${(err as Error).message}`);
    }
  } else {
    const prompt = positionals.length > 0 ? positionals.join(' ') : process.stdin.isTTY ? '' : (await readStdin()).trim();
    if (!prompt) throw new UsageError('nothing to submit. Fix: switchyard submit "your prompt" (or pipe it in, or use --file job.json)');
    job = {
      messages: [...(values.system ? [{ role: 'system' as const, content: values.system }] : []), { role: 'user', content: prompt }],
    };
  }
  const extra: Partial<JobRequest> = {
    model: values.model,
    fallbacks: values.fallback,
    max_tokens: num('max-tokens', values['max-tokens']),
    temperature: num('temperature', values.temperature),
    budget_ms: num('budget-ms', values['budget-ms']),
    priority: num('priority', values.priority),
  };
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) (job as Record<string, unknown>)[name] = value;

  const client = clientFrom(values);
  const submitted = await client.submit(job, values['idempotency-key']);
  if (!values.wait) {
    if (values.json) printJson(submitted);
    else {
      stdout(submitted.id);
      stderr(`${submitted.replayed ? 'already submitted' : 'submitted'}: follow it with "switchyard watch ${submitted.id}"`);
    }
    return 0;
  }
  const view = await client.waitFinal(submitted.id);
  if (values.json) printJson(view);
  else {
    stderr(summaryLine(view));
    if (view.result) stdout(view.result.content);
  }
  return view.status === 'completed' ? 0 : 1;
}
