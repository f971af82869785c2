/**
 * `clients:` in the fleet config (CONTRACT.md, "Usage, spend and client budgets"): named client keys
 * from the environment with optional daily and monthly dollar caps; every mistake named by its path,
 * no key in any message, keys redacted from the public view and counted in the hash by digest only.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { type FleetConfig, parseFleetConfig, redactFleetConfig } from '../src/fleet-config/index.ts';
import { redactSecrets } from '../src/secrets.ts';
import { costMicros, keyClientName, microsToUsd } from '../src/usage/index.ts';

const base = loadConfig({});
const ENV = { TEAM_A_KEY: 'sy-team-a-4f9c2e7b1d8a6035', TEAM_B_KEY: 'sy-team-b-0c5e8a2f7d1b9364' };

const file = (clients: string) => `
deployments:
  - { id: mock, provider: mock }
routes:
  - name: chat
    targets: [{ deployment: mock, model: echo, price: { input_per_mtok: 2.5, output_per_mtok: 10 } }]
clients:
${clients}
`;

const parse = (text: string, env: NodeJS.ProcessEnv = ENV): FleetConfig => parseFleetConfig(text, { env, base });

function problemsOf(text: string, env: NodeJS.ProcessEnv = ENV): string[] {
  try {
    parse(text, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected the file to be refused');
}

describe('clients in the fleet config', () => {
  it('reads names, keys from the environment and dollar caps', () => {
    const config = parse(
      file(`  - { name: team-a, key: "\${TEAM_A_KEY}", daily_usd: 50, monthly_usd: 1000 }
  - { name: team-b, key: "\${TEAM_B_KEY}", monthly_usd: "250.5" }`),
    );
    expect(config.clients).toEqual([
      { name: 'team-a', key: ENV.TEAM_A_KEY, dailyUsd: 50, monthlyUsd: 1000 },
      { name: 'team-b', key: ENV.TEAM_B_KEY, monthlyUsd: 250.5 },
    ]);
    // Registered as secrets: a key that reaches any message is masked.
    expect(redactSecrets(`oops ${ENV.TEAM_B_KEY}`)).not.toContain(ENV.TEAM_B_KEY);
  });

  it('a file without clients has none, and keeps the hash it had before clients existed', () => {
    const without = parse(file('').replace('clients:\n', ''));
    expect(without.clients).toEqual([]);
    const withClient = parse(file(`  - { name: team-a, key: "\${TEAM_A_KEY}" }`));
    expect(withClient.hash).not.toBe(without.hash);
    const rotated = parse(file(`  - { name: team-a, key: "\${TEAM_A_KEY}" }`), { ...ENV, TEAM_A_KEY: 'sy-team-a-rotated-000000000' });
    expect(rotated.hash).not.toBe(withClient.hash);
  });

  it('names each bad field, never the key', () => {
    const problems = problemsOf(
      file(`  - { name: Team A, key: "\${TEAM_A_KEY}", daily_usd: -5 }
  - { name: team-b, key: "\${TEAM_A_KEY}", monthly_usd: lots }
  - { name: team-b, key: "\${TEAM_B_KEY}", weekly_usd: 3 }
  - { key: "\${MISSING_KEY}" }`),
    );
    expect([...problems].sort()).toEqual(
      [
        'clients[0].name: "Team A" is not a valid id: use up to 64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit. Fix: e.g. "openai-main".',
        'clients[0].daily_usd: must be a positive number of dollars, got -5. Fix: e.g. daily_usd: 50 (leave it out for no cap).',
        'clients[1].monthly_usd: must be a positive number of dollars, got "lots". Fix: e.g. daily_usd: 50 (leave it out for no cap).',
        'clients[2].weekly_usd: unknown key. Known keys here: name, key, daily_usd, monthly_usd.',
        'clients[3].key: environment variable MISSING_KEY is not set. Fix: set MISSING_KEY in the environment of every process.',
        'clients[3].name: is required: how usage and budgets name the client, e.g. name: team-a',
        'clients[1].key: is the same key as clients[0].key (value not shown). Fix: give each client a key of its own.',
        'clients[2].name: duplicate client name "team-b" (also clients[1].name). Fix: make each name unique.',
      ].sort(),
    );
    for (const problem of problems) for (const key of Object.values(ENV)) expect(problem).not.toContain(key);
  });

  it('GET /v1/config shows clients with their caps, the key redacted', () => {
    const config = parse(file(`  - { name: team-a, key: "\${TEAM_A_KEY}", daily_usd: 50 }`));
    const shown = redactFleetConfig(config);
    expect(shown.clients).toEqual([{ name: 'team-a', key: '[REDACTED]', daily_usd: 50 }]);
    expect(JSON.stringify(shown)).not.toContain(ENV.TEAM_A_KEY);
  });
});

describe('cost of a call', () => {
  const price = { inputPerMtok: 2.5, outputPerMtok: 10 };

  it('tokens x price per million, in whole micro-dollars', () => {
    // 1,000 prompt tokens at $2.5/M = $0.0025; 500 completion tokens at $10/M = $0.005.
    expect(costMicros({ promptTokens: 1000, completionTokens: 500 }, price)).toBe(7500);
    expect(microsToUsd(7500)).toBe(0.0075);
  });

  it("the vendor's own figure wins over the configured price", () => {
    expect(costMicros({ promptTokens: 1000, completionTokens: 500, vendorCostUsd: 0.0012345 }, price)).toBe(1235);
    expect(costMicros({ promptTokens: 1000, completionTokens: 500, vendorCostUsd: 0 }, undefined)).toBe(0);
  });

  it('unknown without a price or a vendor figure', () => {
    expect(costMicros({ promptTokens: 1000, completionTokens: 500 }, undefined)).toBeUndefined();
  });

  it('API_KEYS keys are named by a short digest, never the key', () => {
    const name = keyClientName('sk-client-key-one');
    expect(name).toMatch(/^key-[0-9a-f]{8}$/);
    expect(keyClientName('sk-client-key-two')).not.toBe(name);
    expect(name).not.toContain('sk-client');
  });
});
