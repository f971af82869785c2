/**
 * What the fleet config shows and where it comes from: the hash (stable however the file is
 * spelled, changed by anything a process runs on, keys included), the redacted view GET /v1/config
 * serves (no key in any form), the implicit config of the environment, and loading from
 * SWITCHYARD_CONFIG (an unreadable file is named with the operating system's reason).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ConfigError, loadConfig } from '../src/config.ts';
import { fleetConfigHash, implicitFleetConfig, loadFleetConfig, parseFleetConfig, redactFleetConfig } from '../src/fleet-config/index.ts';

const base = loadConfig({});
const KEY_MAIN = 'sk-proj-Zq81mainKEYvalue00000000';
const KEY_AZURE = 'azurekey4f8e2d9c1b7a6f5e';
const ENV = { KEY_MAIN, KEY_AZURE };
const dir = mkdtempSync(join(tmpdir(), 'sy-fleet-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BLOCK = `
# two deployments and a route
deployments:
  - id: openai-main
    provider: openai
    api_key: \${KEY_MAIN}
  - id: azure-eu
    provider: azure-openai
    base_url: https://user:hunter2pass@my-resource.openai.azure.com
    api_key: \${KEY_AZURE}
    api_version: "2024-10-21"
    price: { input_per_mtok: 2.5, output_per_mtok: 10 }
routes:
  - name: gpt-4o
    strategy: weighted
    targets:
      - { deployment: openai-main, model: gpt-4o, weight: 3 }
      - { deployment: azure-eu, model: gpt-4o-prod }
    hedge_delay_ms: 800
default_route: gpt-4o
`;

/** The same config: other key order, flow style, quoting, white space, no comments, explicit defaults. */
const REORDERED = `default_route: "gpt-4o"
routes: [{targets: [{model: gpt-4o, weight: 3.0, deployment: openai-main}, {weight: 1, deployment: azure-eu, model: 'gpt-4o-prod'}],
          hedge_delay_ms: "800", fallbacks: [], name: gpt-4o, strategy: weighted}]
deployments:
  - {api_key: "\${KEY_MAIN}", provider: openai, id: openai-main}
  - api_version: '2024-10-21'
    price: {output_per_mtok: 10, input_per_mtok: 2.50}
    api_key: \${KEY_AZURE}
    base_url: "https://user:hunter2pass@my-resource.openai.azure.com/"
    provider: azure-openai
    id: azure-eu
`;

const parse = (text: string, env: NodeJS.ProcessEnv = ENV) => parseFleetConfig(text, { env, base });

describe('the fleet config hash', () => {
  it('is 12 hex characters, the same however the file spells the config (JSON too)', () => {
    const block = parse(BLOCK);
    expect(block.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(parse(REORDERED).hash).toBe(block.hash);
    const { hash, source, ...body } = block;
    expect(fleetConfigHash(body)).toBe(hash);
    const text = JSON.stringify(YAML.parse(BLOCK), null, 4);
    expect(text.startsWith('{')).toBe(true);
    expect(parse(text).hash).toBe(block.hash);
  });

  it('changes with anything a process runs on: a weight, the target order, the default route, a key', () => {
    const hash = parse(BLOCK).hash;
    const variants = [
      BLOCK.replace('weight: 3', 'weight: 2'),
      BLOCK.replace(
        '      - { deployment: openai-main, model: gpt-4o, weight: 3 }\n      - { deployment: azure-eu, model: gpt-4o-prod }',
        '      - { deployment: azure-eu, model: gpt-4o-prod }\n      - { deployment: openai-main, model: gpt-4o, weight: 3 }',
      ),
      BLOCK.replace('default_route: gpt-4o', 'default_route: openai-main/gpt-4o'),
      BLOCK.replace('output_per_mtok: 10', 'output_per_mtok: 11'),
    ];
    for (const variant of variants) expect(variant).not.toBe(BLOCK);
    const hashes = new Set([hash, ...variants.map((v) => parse(v).hash), parse(BLOCK, { ...ENV, KEY_MAIN: `${KEY_MAIN}x` }).hash]);
    expect(hashes.size).toBe(variants.length + 2);
  });
});

describe('the redacted view (GET /v1/config)', () => {
  it('is snake_case like the file, with hash and source, and no key in any form', () => {
    const config = parseFleetConfig(BLOCK, { env: ENV, base, path: '/etc/switchyard/fleet.yaml' });
    const view = redactFleetConfig(config);
    expect(view).toEqual({
      hash: config.hash,
      source: 'file',
      path: '/etc/switchyard/fleet.yaml',
      deployments: [
        { id: 'openai-main', provider: 'openai', base_url: null, api_key: '[REDACTED]' },
        {
          id: 'azure-eu',
          provider: 'azure-openai',
          base_url: 'https://user:[REDACTED]@my-resource.openai.azure.com',
          api_key: '[REDACTED]',
          api_version: '2024-10-21',
          price: { input_per_mtok: 2.5, output_per_mtok: 10 },
        },
      ],
      routes: [
        {
          name: 'gpt-4o',
          strategy: 'weighted',
          targets: [
            { deployment: 'openai-main', model: 'gpt-4o', weight: 3 },
            { deployment: 'azure-eu', model: 'gpt-4o-prod', weight: 1 },
          ],
          fallbacks: [],
          hedge_delay_ms: 800,
        },
      ],
      default_route: 'gpt-4o',
      clients: [],
    });
    const text = JSON.stringify(view);
    for (const secret of [KEY_MAIN, KEY_AZURE, 'hunter2pass']) {
      // Any 8 characters of it, and its digests.
      for (let i = 0; i + 8 <= secret.length; i++) expect(text).not.toContain(secret.slice(i, i + 8));
      for (const algorithm of ['sha256', 'sha1', 'md5']) {
        const digest = createHash(algorithm).update(secret).digest('hex');
        expect(text).not.toContain(digest.slice(0, 12));
      }
    }
  });
});

describe('the implicit config (no SWITCHYARD_CONFIG)', () => {
  it('has one deployment per enabled provider, named after it, and DEFAULT_MODEL as the default route', () => {
    const config = loadConfig({
      OPENAI_API_KEY: KEY_MAIN,
      MOCK_PROVIDER: 'true',
      PROVIDER_CONCURRENCY: 'openai=8',
      DEFAULT_MODEL: 'openai/gpt-4o',
    });
    const fleet = implicitFleetConfig(config);
    expect(fleet).toEqual({
      deployments: [
        { id: 'openai', provider: 'openai', apiKey: KEY_MAIN, maxConcurrency: 8 },
        { id: 'mock', provider: 'mock' },
      ],
      routes: [],
      defaultRoute: 'openai/gpt-4o',
      clients: [],
      hash: expect.stringMatching(/^[0-9a-f]{12}$/),
      source: 'environment',
    });
    expect(loadFleetConfig(config, {})).toEqual(fleet);
    expect(implicitFleetConfig(loadConfig({ OPENAI_API_KEY: `${KEY_MAIN}2`, MOCK_PROVIDER: 'true' })).hash).not.toBe(fleet.hash);
    expect(JSON.stringify(redactFleetConfig(fleet))).not.toContain(KEY_MAIN);
  });
});

describe('loadFleetConfig', () => {
  it('reads the file SWITCHYARD_CONFIG names, resolved to an absolute path', () => {
    writeFileSync(join(dir, 'fleet.yaml'), BLOCK);
    const config = loadConfig({ SWITCHYARD_CONFIG: join(dir, 'fleet.yaml') });
    expect(config.SWITCHYARD_CONFIG).toBe(join(dir, 'fleet.yaml'));
    const fleet = loadFleetConfig(config, ENV);
    expect(fleet).toMatchObject({ source: 'file', path: join(dir, 'fleet.yaml'), hash: parse(BLOCK).hash });
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      expect(loadFleetConfig(loadConfig({ SWITCHYARD_CONFIG: 'fleet.yaml' }), ENV).path).toBe(join(dir, 'fleet.yaml'));
    } finally {
      process.chdir(cwd);
    }
  });

  it('names the path and the reason when the file cannot be read, and every problem of a bad one', () => {
    const missing = join(dir, 'nope.yaml');
    const read =
      (path: string, env: NodeJS.ProcessEnv = ENV) =>
      () =>
        loadFleetConfig(loadConfig({ SWITCHYARD_CONFIG: path }), env);
    expect(read(missing)).toThrow(ConfigError);
    expect(read(missing)).toThrow(`SWITCHYARD_CONFIG: cannot read ${missing}: ENOENT: no such file or directory`);
    expect(read(dir)).toThrow(/EISDIR/);
    writeFileSync(join(dir, 'bad.yaml'), BLOCK.replace('weight: 3', 'weight: 0'));
    expect(read(join(dir, 'bad.yaml'), {})).toThrow(
      /Invalid fleet config .*bad\.yaml \(SWITCHYARD_CONFIG\):\n {2}- deployments\[0\]\.api_key: environment variable KEY_MAIN is not set.*\n {2}- deployments\[1\]\.api_key: environment variable KEY_AZURE is not set.*\n {2}- routes\[0\]\.targets\[0\]\.weight: must be a positive number/,
    );
  });
});
