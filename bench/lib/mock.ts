/**
 * The fault-injecting mock provider as a process of its own (`pnpm mock-provider`'s entry,
 * packages/providers/src/mock-server/main.ts), driven through its admin API. In its own process it
 * keeps answering on time while the bench process is busy generating load (on a small machine a
 * mock inside the bench process was starved, which inflated every provider latency and every
 * in-flight count). Its call stats stay exact: they are counted in that process.
 */
import type { FaultRule, MockStats } from '@switchyard/providers/mock-server';
import { mockBaseUrls } from '@switchyard/providers/mock-server';
import { type Proc, spawnTs } from './processes.ts';

export class RemoteMock {
  readonly baseUrls: ReturnType<typeof mockBaseUrls>;

  private constructor(
    readonly url: string,
    readonly proc: Proc,
  ) {
    this.baseUrls = mockBaseUrls(url);
  }

  static async start(): Promise<RemoteMock> {
    // Port 0: the server binds one of its own choosing and prints its URL. A port picked here would
    // stay free for the seconds the child takes to start, and any process on the machine could take it.
    const proc = spawnTs('mock-provider', 'packages/providers/src/mock-server/main.ts', {
      MOCK_PORT: '0',
      MOCK_HOST: '127.0.0.1',
    });
    let url: string;
    try {
      const line = await proc.waitForLine(/listening on/, 120_000);
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (!match) throw new Error(`mock-provider printed no usable address: ${line}`);
      url = match[1] as string;
    } catch (err) {
      await proc.stop('SIGKILL');
      throw err;
    }
    return new RemoteMock(url, proc);
  }

  private async admin(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.url}/__mock/${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`mock admin ${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    return text ? JSON.parse(text) : null;
  }

  stats(): Promise<MockStats> {
    return this.admin('GET', 'stats') as Promise<MockStats>;
  }

  async resetStats(): Promise<void> {
    await this.admin('POST', 'reset', { stats: true, faults: false });
  }

  async setFaults(rules: FaultRule[]): Promise<void> {
    await this.admin('POST', 'faults', { rules, mode: 'replace' });
  }

  async clearFaults(): Promise<void> {
    await this.admin('DELETE', 'faults');
  }

  async close(): Promise<void> {
    await this.proc.stop();
  }
}
