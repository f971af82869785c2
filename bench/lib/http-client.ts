/**
 * A lean keep-alive HTTP client for the open-loop benchmarks (node:http, one Agent per target), so
 * the load generator spends as little CPU per request as possible and ours and the baseline are
 * measured with the same client.
 */
import { Agent, request } from 'node:http';

export interface JsonResponse {
  status: number;
  body: string;
}

export class JsonClient {
  // `timeout` is what lets Node's agent honour a server's `Keep-Alive: timeout=N` hint (it drops an
  // idle socket a second before the server would): without it a socket the server closed after
  // Node's default 5 s idle was reused, and the request failed with "socket hang up" (Portkey's
  // gateway lost a request of a B9 rung to it). Servers with longer idle times keep theirs 60 s.
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1024, maxFreeSockets: 1024, timeout: 60_000 });

  post(url: string, body: unknown, timeoutMs = 30_000, extraHeaders: Record<string, string> = {}): Promise<JsonResponse> {
    return this.send('POST', url, Buffer.from(JSON.stringify(body)), timeoutMs, extraHeaders);
  }

  get(url: string, timeoutMs = 30_000): Promise<JsonResponse> {
    return this.send('GET', url, undefined, timeoutMs);
  }

  private send(
    method: 'GET' | 'POST',
    url: string,
    payload: Buffer | undefined,
    timeoutMs: number,
    extraHeaders: Record<string, string> = {},
  ): Promise<JsonResponse> {
    const headers: Record<string, string> = {
      ...extraHeaders,
      ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
    };
    return new Promise((resolve, reject) => {
      const req = request(url, { method, agent: this.agent, headers, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** POST that resolves only on a 2xx, else rejects with the status and the start of the body. */
  async postOk(url: string, body: unknown, timeoutMs?: number, extraHeaders?: Record<string, string>): Promise<string> {
    return okBody(await this.post(url, body, timeoutMs, extraHeaders));
  }

  /** GET that resolves only on a 2xx, else rejects with the status and the start of the body. */
  async getOk(url: string, timeoutMs?: number): Promise<string> {
    return okBody(await this.get(url, timeoutMs));
  }

  close(): void {
    this.agent.destroy();
  }
}

function okBody(res: JsonResponse): string {
  if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
  return res.body;
}
