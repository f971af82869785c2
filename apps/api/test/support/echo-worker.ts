/**
 * A real worker for API tests: apps/worker's own JobWorker (queue, events, cancel handling, done
 * messages exactly as in production) with a tiny JobRunner instead of the router, so completions
 * complete without a provider. Loaded by path at run time (apps/worker is not a dependency of the
 * API, and its sources change under another owner).
 *
 * The runner answers with the last user message, streamed word by word, unless it starts with:
 *   fail:<class>   fails the job permanently with that error class;
 *   sleep:<ms>     waits that long (or until cancelled), then echoes;
 *   hold:          waits until the test calls release(jobId) (or until cancelled), then echoes:
 *                  a sync point, so a test can open a stream or a long-poll before the job moves;
 *   partial:<text> streams only the first half of the words, then returns the whole text (as if
 *                  the tail's token messages had been lost on the way);
 *   midfail:<text> streams the first half of the words, then fails (service_unavailable).
 */
import { createLogger, createRedis, type JobResult, loadConfig, type QueuedJobData, waitForRedis } from '@switchyard/shared';

interface RunInput {
  jobId: string;
  data: QueuedJobData;
  signal: AbortSignal;
  onToken?: (delta: string) => void;
}
interface WorkerModule {
  JobWorker: new (
    deps: Record<string, unknown>,
  ) => { start(): Promise<void>; close(deadlineMs: number): Promise<void>; activeCount: number };
}
interface RunnerModule {
  JobFailure: new (error: { class: string; message: string; provider?: string }, permanent: boolean) => Error;
}
interface EventsModule {
  JobEventPublisher: new (redis: unknown, namespace: string, logger: unknown) => unknown;
}

const workerSrc = new URL('../../../worker/src/', import.meta.url);
const load = <T>(file: string) => import(new URL(file, workerSrc).href) as Promise<T>;

export interface EchoWorker {
  /** Jobs the runner has started, by id. */
  started: string[];
  /** Lets a `hold:` job go on (now, or as soon as it starts). */
  release(jobId: string): void;
  close(): Promise<void>;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new Error(String(signal.reason)));
      },
      { once: true },
    );
  });

/** Held jobs waiting for release(), and releases that came before their job started. */
function holdGate() {
  const waiting = new Map<string, () => void>();
  const early = new Set<string>();
  return {
    release(jobId: string) {
      const go = waiting.get(jobId);
      if (go) go();
      else early.add(jobId);
    },
    hold(jobId: string, signal: AbortSignal) {
      return new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(new Error(String(signal.reason)));
        if (early.delete(jobId)) return resolve();
        const onAbort = () => {
          waiting.delete(jobId);
          reject(new Error(String(signal.reason)));
        };
        waiting.set(jobId, () => {
          waiting.delete(jobId);
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}

/** `clockSkewMs`: see apps/worker/src/job-signals.ts (0: jobs created after start are never asked about). */
export async function startEchoWorker(env: Record<string, string>, options: { clockSkewMs?: number } = {}): Promise<EchoWorker> {
  // One at a time: job-worker.ts imports the other two, and loading them concurrently from here
  // has produced a second copy of job-runner.ts in a CI run.
  const { JobWorker } = await load<WorkerModule>('job-worker.ts');
  const { JobFailure } = await load<RunnerModule>('job-runner.ts');
  const { JobEventPublisher } = await load<EventsModule>('job-events.ts');
  const config = loadConfig({ LOG_LEVEL: 'warn', WORKER_CONCURRENCY: '8', ...env });
  const logger = createLogger({ name: 'echo-worker', level: 'silent' });
  const connection = createRedis(config, 'blocking', 'echo-worker');
  const commands = createRedis(config, 'request', 'echo-worker-cmd');
  const subscriber = createRedis(config, 'blocking', 'echo-worker-sub');
  for (const client of [connection, commands, subscriber]) client.on('error', () => {});
  await waitForRedis(commands, 5000, config.REDIS_URL);
  const started: string[] = [];
  const gate = holdGate();

  const runner = {
    async run({ jobId, data, signal, onToken }: RunInput): Promise<JobResult> {
      started.push(jobId);
      const begun = Date.now();
      const messages = data.request.messages;
      let text = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
      const failing = /^fail:(\w+)/.exec(text);
      if (failing) throw new JobFailure({ class: failing[1] as string, message: `simulated ${failing[1]}`, provider: 'mock' }, true);
      if (text.startsWith('hold:')) {
        await gate.hold(jobId, signal);
        text = text.slice('hold:'.length).trimStart();
      }
      const sleeping = /^sleep:(\d+)\s*/.exec(text);
      if (sleeping) {
        await sleep(Number(sleeping[1]), signal);
        text = text.slice(sleeping[0].length);
      }
      const partial = text.startsWith('partial:') || text.startsWith('midfail:');
      const words = text.match(/\S+\s*|\s+/g) ?? [];
      if (onToken) {
        const upTo = partial ? Math.floor(words.length / 2) : words.length;
        for (let i = 0; i < upTo; i++) {
          if (signal.aborted) throw new Error(String(signal.reason));
          onToken(words[i] as string);
          if (i % 4 === 3) await new Promise((r) => setImmediate(r));
        }
      }
      if (text.startsWith('midfail:')) {
        throw new JobFailure({ class: 'service_unavailable', message: 'simulated failure mid-stream', provider: 'mock' }, true);
      }
      const completion = words.length;
      return {
        provider: 'mock',
        model: 'echo',
        content: text,
        finish_reason: 'stop',
        usage: { prompt_tokens: messages.length, completion_tokens: completion, total_tokens: messages.length + completion },
        latency_ms: Date.now() - begun,
        attempts: [{ provider: 'mock', model: 'echo', outcome: 'success', started_ms: 0, latency_ms: Date.now() - begun, hedge: false }],
      };
    },
  };

  const worker = new JobWorker({
    config,
    logger,
    connection,
    commands,
    subscriber,
    runner,
    events: new JobEventPublisher(commands, config.SWITCHYARD_NAMESPACE, logger),
    workerId: `echo-${process.pid}`,
    ...(options.clockSkewMs !== undefined ? { signals: { clockSkewMs: options.clockSkewMs } } : {}),
  });
  await worker.start();
  return {
    started,
    release: (jobId) => gate.release(jobId),
    async close() {
      // Bounded: right after a Redis restart BullMQ's close can wait on a connection still reconnecting.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        worker.close(1000).catch(() => {}),
        new Promise((resolve) => {
          timer = setTimeout(resolve, 3000);
        }),
      ]);
      clearTimeout(timer);
      for (const client of [connection, commands, subscriber]) client.disconnect();
    },
  };
}
