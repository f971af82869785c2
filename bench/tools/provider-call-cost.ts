/**
 * CPU cost of one provider call in the calling process: every HTTP adapter against the mock provider
 * (a child process, so its CPU is not counted), non-streaming and streaming, N calls at C in flight
 * after a warm-up, on each transport: `fetch` (Node's global fetch, what the adapters used before)
 * and `fast` (transport/fast-fetch.ts, the default now), run after run interleaved so both see the
 * same machine. Prints CPU ms per call (process.cpuUsage, user + system, GC included) and calls/s per
 * run, then the median per row and the change. CPU per call is the figure to compare: on a shared
 * 2-core machine wall-clock throughput moves with whatever else runs; CPU time per call much less.
 *
 *   npx tsx bench/tools/provider-call-cost.ts [--calls 3000] [--concurrency 16] [--warmup 500]
 *     [--repeat 3] [--adapters openai,anthropic,gemini,ollama,mock] [--modes plain,stream]
 *     [--transports fetch,fast] [--words 4]
 *
 * `openai` is the official SDK on the mock's OpenAI wire prefix; `mock` is the worker's mock/<name>
 * HTTP path (the same SDK adapter on /mock/v1); gemini and ollama use the thin client.
 */
import { parseArgs } from 'node:util';
import {
  type CallOptions,
  type ChatRequest,
  createAnthropicAdapter,
  createGeminiAdapter,
  createMockAdapter,
  createOllamaAdapter,
  createOpenAIAdapter,
  type ProviderAdapter,
} from '@switchyard/providers';
import { RemoteMock } from '../lib/mock.ts';

type Urls = RemoteMock['baseUrls'];
type Transport = typeof fetch | undefined;

const ADAPTERS = {
  openai: (urls: Urls, fetch: Transport) => ({
    adapter: createOpenAIAdapter({ apiKey: 'sk-bench-openai-key-0000000000', baseUrl: urls.openai, fetch }),
    model: 'gpt-4o-mini',
  }),
  anthropic: (urls: Urls, fetch: Transport) => ({
    adapter: createAnthropicAdapter({ apiKey: 'sk-ant-bench-key-0000000000', baseUrl: urls.anthropic, fetch }),
    model: 'claude-sonnet-5-5',
  }),
  gemini: (urls: Urls, fetch: Transport) => ({
    adapter: createGeminiAdapter({ apiKey: 'AIzaBenchKey000000000000000000', baseUrl: urls.gemini, fetch }),
    model: 'gemini-2.5-flash',
  }),
  ollama: (urls: Urls, fetch: Transport) => ({ adapter: createOllamaAdapter({ baseUrl: urls.ollama, fetch }), model: 'llama3.2' }),
  mock: (urls: Urls, fetch: Transport) => ({ adapter: createMockAdapter({ url: urls.mock, fetch }), model: 'http' }),
} satisfies Record<string, (urls: Urls, fetch: Transport) => { adapter: ProviderAdapter; model: string }>;

/** `fetch`: Node's global fetch; `fast`: the adapters' default transport (undefined = their default). */
const TRANSPORTS = { fetch: globalThis.fetch, fast: undefined } satisfies Record<string, Transport>;

type AdapterName = keyof typeof ADAPTERS;
type TransportName = keyof typeof TRANSPORTS;
type Mode = 'plain' | 'stream';

interface Run {
  cpuMsPerCall: number;
  callsPerSecond: number;
}

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '16' },
    warmup: { type: 'string', default: '500' },
    repeat: { type: 'string', default: '3' },
    adapters: { type: 'string', default: 'openai,anthropic,gemini,ollama,mock' },
    modes: { type: 'string', default: 'plain,stream' },
    transports: { type: 'string', default: 'fetch,fast' },
    words: { type: 'string', default: '4' },
  },
});

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number >= 1, got "${text}"`);
  return n;
}

const calls = positive('calls', values.calls);
const concurrency = positive('concurrency', values.concurrency);
const warmup = Number(values.warmup);
const repeat = positive('repeat', values.repeat);
const words = positive('words', values.words);
const adapterNames = values.adapters.split(',').map((s) => s.trim()) as AdapterName[];
const modes = values.modes.split(',').map((s) => s.trim()) as Mode[];
for (const name of adapterNames) if (!(name in ADAPTERS)) throw new Error(`unknown adapter "${name}"; known: ${Object.keys(ADAPTERS)}`);
for (const mode of modes) if (mode !== 'plain' && mode !== 'stream') throw new Error(`unknown mode "${mode}"; known: plain,stream`);
const transportNames = values.transports.split(',').map((s) => s.trim()) as TransportName[];
for (const name of transportNames) if (!(name in TRANSPORTS)) throw new Error(`unknown transport "${name}"; known: fetch,fast`);

/** `count` calls, `concurrency` at a time; throws on the first failure (a failed call is not a cost figure). */
async function drive(adapter: ProviderAdapter, request: ChatRequest, stream: boolean, count: number): Promise<void> {
  let started = 0;
  const onToken = stream ? () => {} : undefined;
  const lane = async () => {
    while (started < count) {
      started++;
      // A controller per call, as the worker has one per job (and one shared signal would collect a
      // listener per call in flight).
      const options: CallOptions = { signal: new AbortController().signal, timeoutMs: 10_000 };
      if (onToken) options.onToken = onToken;
      await adapter.chat(request, options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}

async function measure(adapter: ProviderAdapter, request: ChatRequest, stream: boolean): Promise<Run> {
  const cpuBefore = process.cpuUsage();
  const before = performance.now();
  await drive(adapter, request, stream, calls);
  const wallMs = performance.now() - before;
  const cpu = process.cpuUsage(cpuBefore);
  return { cpuMsPerCall: (cpu.user + cpu.system) / 1000 / calls, callsPerSecond: (calls * 1000) / wallMs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

const cell = (text: string | number, width: number) => String(text).padStart(width);

const mock = await RemoteMock.start();
try {
  console.log(`provider-call-cost: ${calls} calls x ${repeat}, ${concurrency} in flight, warm-up ${warmup}, reply ${words} words`);
  console.log(`node ${process.version}, mock provider pid ${mock.proc.pid} (its CPU is not counted)\n`);
  console.log('adapter    mode    transport  run  CPU ms/call  calls/s');
  const summary: string[] = [];
  for (const name of adapterNames) {
    for (const mode of modes) {
      const stream = mode === 'stream';
      const lanes = transportNames.map((transport) => ({
        transport,
        ...ADAPTERS[name](mock.baseUrls, TRANSPORTS[transport]),
        runs: [] as Run[],
      }));
      const request = (model: string): ChatRequest => ({
        model,
        messages: [{ role: 'user', content: `bench [[mock:words=${words}]]` }],
        maxTokens: 64,
      });
      if (warmup > 0) for (const lane of lanes) await drive(lane.adapter, request(lane.model), stream, warmup);
      for (let i = 1; i <= repeat; i++) {
        for (const lane of lanes) {
          const run = await measure(lane.adapter, request(lane.model), stream);
          lane.runs.push(run);
          console.log(
            `${name.padEnd(10)} ${mode.padEnd(7)} ${lane.transport.padEnd(9)} ${cell(i, 4)}  ${cell(run.cpuMsPerCall.toFixed(3), 11)}  ${cell(Math.round(run.callsPerSecond), 7)}`,
          );
        }
      }
      const first = median(lanes[0]?.runs.map((r) => r.cpuMsPerCall) ?? []);
      for (const lane of lanes) {
        const cpus = lane.runs.map((r) => r.cpuMsPerCall);
        const change = lane === lanes[0] ? '' : `${cell(((median(cpus) / first - 1) * 100).toFixed(0), 5)} %`;
        summary.push(
          `${name.padEnd(10)} ${mode.padEnd(7)} ${lane.transport.padEnd(9)} ${cell(median(cpus).toFixed(3), 11)}  ${Math.min(...cpus).toFixed(3)}-${Math.max(...cpus).toFixed(3)}  ${cell(Math.round(median(lane.runs.map((r) => r.callsPerSecond))), 7)}  ${change}`,
        );
      }
    }
  }
  console.log(`\nmedian     mode    transport  CPU ms/call  range        calls/s  CPU vs ${transportNames[0]}`);
  for (const line of summary) console.log(line);
  const stats = await mock.stats();
  console.log(`\nmock server: ${stats.total.completed} completed, ${stats.total.abandoned} abandoned, ${stats.total.dropped} dropped`);
} finally {
  await mock.close();
}
