/**
 * A private 3-master Redis Cluster for tests: three `redis-server --cluster-enabled yes` processes
 * on free loopback ports (each port and its cluster-bus port + 10000 checked free), data under a
 * temp dir, joined with `redis-cli --cluster create ... --cluster-yes`. Never touches
 * 127.0.0.1:6379 or anything else it did not start.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PrivateRedis } from '@switchyard/shared/ensure-redis';
import { freePort, startPrivateRedis, waitFor } from '@switchyard/shared/testing';
import { Redis } from 'ioredis';

export interface TestCluster {
  /** `host:port` of every master, for REDIS_CLUSTER_NODES. */
  nodes: string[];
  ports: number[];
  stop(): Promise<void>;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port whose cluster-bus port (+10000) is free too. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port === 6379 || port + 10_000 > 65_535 || taken.has(port) || taken.has(port + 10_000)) continue;
    if (await portIsFree(port + 10_000)) return port;
  }
  throw new Error('no free port pair for a cluster node');
}

function run(command: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export async function startTestCluster(masters = 3): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cluster-'));
  const servers: PrivateRedis[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const taken = new Set<number>();
    for (let i = 0; i < masters; i++) {
      const port = await clusterPort(taken);
      taken.add(port);
      taken.add(port + 10_000);
      const dataDir = join(dir, `node-${port}`);
      servers.push(
        await startPrivateRedis({
          port,
          dataDir,
          appendonly: false,
          extraArgs: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dataDir, 'nodes.conf'),
            '--cluster-node-timeout',
            '5000',
            '--cluster-announce-ip',
            '127.0.0.1',
          ],
        }),
      );
    }
    const nodes = servers.map((s) => `127.0.0.1:${s.port}`);
    const created = await run('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], 30_000);
    if (created.code !== 0) throw new Error(`redis-cli --cluster create failed (${created.code}):\n${created.output}`);
    const clients = servers.map((s) => new Redis(s.url, { maxRetriesPerRequest: 1 }));
    try {
      await waitFor(
        async () => {
          const infos = await Promise.all(clients.map((c) => c.call('CLUSTER', 'INFO')));
          return infos.every((info) => /cluster_state:ok/.test(String(info)) && /cluster_slots_ok:16384/.test(String(info)));
        },
        'cluster_state:ok on every node',
        20_000,
        100,
      );
    } finally {
      for (const c of clients) c.disconnect();
    }
    return { nodes, ports: servers.map((s) => s.port), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
