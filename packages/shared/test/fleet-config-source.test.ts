/**
 * Hot reload of the fleet config on a real file with real file-system events: a valid change is
 * swapped in (written in place, replaced by rename as editors do, or seen by the stat poll alone),
 * an invalid one is refused with every problem logged and the running config kept, SIGHUP reloads,
 * reloads never overlap, and stop() removes every watcher and the signal listener.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@switchyard/shared/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { type FleetConfig, type FleetConfigChange, FleetConfigSource, type FleetConfigSourceOptions } from '../src/fleet-config/index.ts';
import { createLogger } from '../src/logger.ts';

const dir = mkdtempSync(join(tmpdir(), 'sy-fleet-source-'));
const DEADLINE = 20_000;
const sources: FleetConfigSource[] = [];
// A SIGHUP that reached this process with no listener would end it (and the test run): this one
// stays installed for the whole file, and signals are sent only while a source listens too.
const keepAlive = () => {};
beforeAll(() => {
  process.on('SIGHUP', keepAlive);
});
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
});
afterAll(() => {
  process.off('SIGHUP', keepAlive);
  rmSync(dir, { recursive: true, force: true });
});

/** A one-route config whose route sends to `model`. */
const fleetYaml = (model: string) => `deployments:
  - { id: mock, provider: mock }
routes:
  - name: chat
    targets: [{ deployment: mock, model: "${model}" }]
`;
const modelOf = (config: FleetConfig) => config.routes[0]?.targets[0]?.model;

let files = 0;
function setUp(text: string, options: Partial<FleetConfigSourceOptions> = {}) {
  const file = join(dir, `fleet-${++files}.yaml`);
  writeFileSync(file, text);
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(
    { name: 'fleet-config-test', level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line)) },
  );
  const source = new FleetConfigSource({ config: loadConfig({ SWITCHYARD_CONFIG: file }), logger, env: {}, ...options });
  sources.push(source);
  const changes: FleetConfigChange[] = [];
  source.onChange((change) => changes.push(change));
  const logged = (msg: string, fields: Record<string, unknown> = {}) =>
    lines.find((l) => l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v));
  /** Starts the source and waits for its check at start, so what follows is seen by the watchers. */
  const start = async () => {
    source.start();
    await waitFor(() => logged('config.reload.unchanged', { reason: 'started' }), 'the check at start to finish', DEADLINE);
  };
  return { file, source, changes, lines, logged, start };
}

describe('FleetConfigSource', () => {
  it('swaps in a valid change written in place, then one an editor writes by rename', async () => {
    const { file, source, changes, logged, start } = setUp(fleetYaml('one'));
    await start();
    const first = source.current;
    expect(modelOf(first)).toBe('one');

    writeFileSync(file, fleetYaml('two'));
    await waitFor(() => modelOf(source.current) === 'two', 'the in-place change to be applied', DEADLINE);
    expect(changes).toHaveLength(1);
    expect(changes[0]?.previous).toBe(first);
    expect(changes[0]?.current).toBe(source.current);
    expect(logged('config.reload.applied', { previousHash: first.hash, hash: source.current.hash })).toBeDefined();

    const swap = join(dir, '.fleet.yaml.swp');
    writeFileSync(swap, fleetYaml('three'));
    renameSync(swap, file);
    await waitFor(() => modelOf(source.current) === 'three', 'the renamed file to be applied', DEADLINE);
    expect(changes.map((c) => modelOf(c.current))).toEqual(['two', 'three']);
  });

  it('notices a change by the stat poll alone (file systems where fs.watch is silent)', async () => {
    const { file, source, logged, start } = setUp(fleetYaml('one'), { fsWatch: false, pollMs: 200 });
    await start();
    writeFileSync(file, fleetYaml('polled'));
    await waitFor(() => modelOf(source.current) === 'polled', 'the poll to notice the change', DEADLINE);
    expect(logged('config.reload.applied', { reason: 'file changed' })).toBeDefined();
  });

  it('notices a change within 5 s on the default poll period alone, the promise that holds where fs.watch is silent', async () => {
    const { file, source, start } = setUp(fleetYaml('one'), { fsWatch: false });
    await start();
    const written = Date.now();
    writeFileSync(file, fleetYaml('five-seconds'));
    await waitFor(() => modelOf(source.current) === 'five-seconds', 'the default poll to notice the change', 5_000);
    expect(Date.now() - written).toBeLessThan(5_000);
  });

  it('refuses an invalid file with every problem logged and keeps the running config', async () => {
    const { file, source, changes, logged, start } = setUp(fleetYaml('one'));
    await start();
    const running = source.current;
    writeFileSync(file, `${fleetYaml('one').replace('deployment: mock', 'deployment: ghost')}default_route: nowhere\n`);
    const refused = await waitFor(() => logged('config.reload.refused'), 'the refusal to be logged', DEADLINE);
    expect(refused).toMatchObject({ level: 50, path: file, hash: running.hash });
    expect(refused.problems).toEqual([
      'default_route: unknown route "nowhere" (routes: chat). Fix: name a route, or <deployment>/<model> with a deployment id (known: mock)',
      'routes[0].targets[0].deployment: unknown deployment "ghost" (known: mock)',
    ]);
    expect(source.current).toBe(running);
    expect(changes).toEqual([]);

    // A fixed file is taken again.
    writeFileSync(file, fleetYaml('fixed'));
    await waitFor(() => modelOf(source.current) === 'fixed', 'the fixed file to be applied', DEADLINE);
  });

  it('keeps the running config when the file is deleted', async () => {
    const { file, source, logged, start } = setUp(fleetYaml('one'));
    await start();
    rmSync(file);
    const refused = await waitFor(() => logged('config.reload.refused'), 'the refusal to be logged', DEADLINE);
    expect(String((refused.problems as string[])[0])).toContain(`cannot read ${file}: ENOENT`);
    expect(modelOf(source.current)).toBe('one');
  });

  it('reloads on SIGHUP', async () => {
    // The file does not change, only the variable it names: nothing but the signal can pick that up.
    const env: NodeJS.ProcessEnv = { MODEL: 'before' };
    const { source, logged, start } = setUp(fleetYaml('${MODEL}'), { env });
    const listeners = process.listenerCount('SIGHUP');
    await start();
    expect(process.listenerCount('SIGHUP')).toBe(listeners + 1);
    env.MODEL = 'after';
    process.kill(process.pid, 'SIGHUP');
    await waitFor(() => modelOf(source.current) === 'after', 'the SIGHUP reload', DEADLINE);
    expect(logged('config.reload.applied', { reason: 'SIGHUP' })).toBeDefined();
  });

  it('runs one reload at a time: calls during one share a single follow-up', async () => {
    const { file, source, changes, lines } = setUp(fleetYaml('one'));
    writeFileSync(file, fleetYaml('two'));
    const outcomes = await Promise.all([source.reload('a'), source.reload('b'), source.reload('c')]);
    expect(outcomes).toEqual(['changed', 'unchanged', 'unchanged']);
    expect(changes).toHaveLength(1);
    // Each reload ends before the next starts (overlapping ones would log started, started, ...).
    const steps = lines.map((l) => `${String(l.msg).replace('config.reload.', '')} ${l.reason}`);
    expect(steps).toEqual(['started a', 'applied a', 'started b', 'unchanged b']);
  });

  it('does not count a rewrite with the same meaning as a change', async () => {
    const { file, source, changes } = setUp(fleetYaml('one'));
    const running = source.current;
    writeFileSync(
      file,
      `# reformatted\nroutes: [ {targets: [{model: one, deployment: mock, weight: 1}], name: chat} ]\ndeployments: [{provider: mock, id: mock}]\n`,
    );
    expect(await source.reload()).toBe('unchanged');
    expect(source.current).toBe(running);
    expect(changes).toEqual([]);
  });

  it('stops watching and listening on stop()', async () => {
    const { file, source } = setUp(fleetYaml('one'), { pollMs: 100 });
    const listeners = process.listenerCount('SIGHUP');
    source.start();
    await source.stop();
    expect(process.listenerCount('SIGHUP')).toBe(listeners);
    writeFileSync(file, fleetYaml('unseen'));
    // Ten poll periods and more than the settle delay: a running source would have applied it.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(modelOf(source.current)).toBe('one');
  });

  it('without a file, has the implicit config and reloads to nothing', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger(
      { name: 'fleet-config-test', level: 'debug' },
      { write: (line: string) => void lines.push(JSON.parse(line)) },
    );
    const source = new FleetConfigSource({ config: loadConfig({}), logger });
    sources.push(source);
    expect(source.current.source).toBe('environment');
    expect(source.current.deployments.map((d) => d.id)).toEqual(['mock']);
    expect(await source.reload('test')).toBe('unchanged');
    expect(lines.some((l) => l.msg === 'config.reload.skipped')).toBe(true);
  });
});
