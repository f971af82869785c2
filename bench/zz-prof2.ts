import { startPrivateRedis } from '@switchyard/shared/testing';
import { httpLoad } from './lib/http-load.ts';
import { RemoteMock } from './lib/mock.ts';
import { baseEnv, startApi } from './lib/processes.ts';

process.env.BENCH_CPU_PROF_DIR = '/tmp/prof/st';
const r = await startPrivateRedis({ dataDir: '/tmp/prof/redis6', appendonly: false });
const mock = await RemoteMock.start();
await mock.setFaults([{ provider: '*', fault: 'hang' }]);
const env = baseEnv(r.url, 'st', {
  MOCK_PROVIDER: 'false',
  OPENAI_API_KEY: 'sk-bench0000000000000000000000',
  OPENAI_BASE_URL: mock.baseUrls.openai,
  ANTHROPIC_API_KEY: 'sk-ant-bench000000000000000000000',
  ANTHROPIC_BASE_URL: mock.baseUrls.anthropic,
  GEMINI_API_KEY: `AIza${'0'.repeat(35)}`,
  GEMINI_BASE_URL: mock.baseUrls.gemini,
  OLLAMA_BASE_URL: mock.baseUrls.ollama,
  STATUS_FRESH_MS: '1000',
  STATUS_STALE_MS: '600000',
  PROBE_TIMEOUT_MS: '300',
});
const api = await startApi('api', env);
await fetch(`${api.url}/v1/providers/status`);
const t0 = api.cpuMs();
const res = await httpLoad({ url: `${api.url}/v1/providers/status`, connections: 10, durationS: 8, overallRate: 300 });
console.log('ok/s', res.okPerS, 'p50', res.latency.p50, 'p99', res.latency.p99, 'cpu/req', (api.cpuMs() - t0) / res.ok);
await api.stop();
await mock.close();
await r.stop();
