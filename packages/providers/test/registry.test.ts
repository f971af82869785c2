/**
 * The adapters built from configuration (the environment's providers as implicit deployments),
 * model resolution and the model list of GET /v1/models, the in-process mock/echo provider (the
 * benchmark path, and directives without a server), and key checks.
 */
import { type Config, type DeploymentConfig, implicitFleetConfig, loadConfig } from '@switchyard/shared';
import { settleInTurns } from '@switchyard/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFleetRuntime, deploymentModels } from '../src/fleet-runtime.ts';
import { checkDeploymentKeys, checkProviderKeys, formatKeyProblems } from '../src/key-checks.ts';
import { createMockAdapter } from '../src/mock/index.ts';
import { type MockServer, startMockServer } from '../src/mock-server/index.ts';
import { DEPLOYMENT_FACTORIES } from '../src/registry.ts';
import { callOptions, expectFailure, KEYS, userRequest } from './helpers.ts';

/** What every process builds from the environment when no config file is given. */
function environmentRuntime(config: Config) {
  return buildFleetRuntime(implicitFleetConfig(config), { defaultTimeoutMs: config.ATTEMPT_TIMEOUT_MS });
}

let server: MockServer;
beforeAll(async () => {
  server = await startMockServer();
});
afterAll(async () => {
  await server.close();
});

describe('registry', () => {
  it('builds every enabled provider from config, in order, and each answers through the mock server', async () => {
    const config = loadConfig({
      ...server.env(),
      OPENROUTER_API_KEY: KEYS.openrouter,
      OPENAI_API_KEY: KEYS.openai,
      ANTHROPIC_API_KEY: KEYS.anthropic,
      GEMINI_API_KEY: KEYS.gemini,
      MOCK_PROVIDER: 'true',
      ATTEMPT_TIMEOUT_MS: '2000',
    });
    const runtime = environmentRuntime(config);
    expect([...runtime.adapters.keys()]).toEqual(['openrouter', 'openai', 'anthropic', 'gemini', 'ollama', 'mock']);
    for (const ref of [
      'openrouter/openai/gpt-4o-mini',
      'openai/gpt-4o-mini',
      'anthropic/claude-haiku-4-5',
      'gemini/gemini-2.5-flash',
      'ollama/llama3.2',
      'mock/echo',
      'mock/http',
    ]) {
      const resolved = runtime.names.resolve(ref);
      if (resolved.kind !== 'target') throw new Error(`${ref} does not resolve to a deployment`);
      const adapter = runtime.adapters.get(resolved.deployment.id);
      if (!adapter) throw new Error(`no adapter for ${resolved.deployment.id}`);
      const result = await adapter.chat(userRequest(resolved.model, `hi from ${ref}`), callOptions(false));
      expect(result.content).toBe(`hi from ${ref}`);
    }
    const probes = await Promise.all([...runtime.adapters.values()].map((a) => a.probe({ timeoutMs: 10_000 })));
    expect(probes.map((p) => p.state)).toEqual(Array(6).fill('active'));
  });

  it('deploymentModels: OpenAI-compatible, ids prefixed with the (implicit) deployment, named after the provider', () => {
    const data = deploymentModels(environmentRuntime(loadConfig({ OPENAI_API_KEY: KEYS.openai, MOCK_PROVIDER: 'true' })));
    expect(data).toContainEqual({ id: 'openai/gpt-4o-mini', object: 'model', created: 0, owned_by: 'openai' });
    expect(data).toContainEqual({ id: 'mock/echo', object: 'model', created: 0, owned_by: 'mock' });
    expect(data.every((m) => m.id.includes('/'))).toBe(true);
  });

  it('resolution explains unknown, disabled and malformed references by what does exist', () => {
    const runtime = environmentRuntime(loadConfig({}));
    expect([...runtime.adapters.keys()]).toEqual(['mock']);
    for (const ref of ['openai/gpt-4o', 'acme/x', 'gpt-4o']) {
      expect(runtime.names.resolve(ref)).toEqual({ kind: 'unknown', message: expect.stringContaining('with a deployment of: mock') });
    }
    expect(runtime.names.resolve('mock/echo')).toMatchObject({
      kind: 'target',
      deployment: { id: 'mock', provider: 'mock' },
      model: 'echo',
    });
  });
});

describe('DEPLOYMENT_FACTORIES: one adapter per deployment config', () => {
  const context = { defaultTimeoutMs: 10_000, logger: undefined };

  it('azure-openai and openai-compatible deployments answer and probe through the mock server', async () => {
    const deployments: DeploymentConfig[] = [
      {
        id: 'azure-eu',
        provider: 'azure-openai',
        baseUrl: server.baseUrls['azure-openai'],
        apiKey: KEYS['azure-openai'],
        apiVersion: '2024-10-21',
      },
      { id: 'local-vllm', provider: 'openai-compatible', baseUrl: server.baseUrls['openai-compatible'] },
    ];
    for (const deployment of deployments) {
      const adapter = DEPLOYMENT_FACTORIES[deployment.provider](deployment, context);
      expect(adapter.provider).toBe(deployment.provider);
      const result = await adapter.chat(userRequest('gpt-4o-prod', `hi from ${deployment.id}`), callOptions(true));
      expect(result.content).toBe(`hi from ${deployment.id}`);
      expect((await adapter.probe({ timeoutMs: 10_000 })).state).toBe('active');
    }
    expect(server.stats().byModel['azure-openai/gpt-4o-prod']?.completed).toBe(1);
    expect(server.stats().byModel['openai-compatible/gpt-4o-prod']?.completed).toBe(1);
  });

  it('names the deployment and the field when a required one is missing', () => {
    expect(() =>
      DEPLOYMENT_FACTORIES['azure-openai']({ id: 'azure-eu', provider: 'azure-openai', baseUrl: 'https://r.openai.azure.com' }, context),
    ).toThrow(/deployment "azure-eu" \(azure-openai\) has no api_key\. Fix: /);
    expect(() => DEPLOYMENT_FACTORIES['openai-compatible']({ id: 'local', provider: 'openai-compatible' }, context)).toThrow(
      /base_url is required/,
    );
    expect(() => DEPLOYMENT_FACTORIES.openai({ id: 'openai-backup', provider: 'openai' }, context)).toThrow(
      /"openai-backup" \(openai\) has no api_key/,
    );
  });

  it("every kind has a factory, and the environment's providers are built on them", () => {
    const runtime = environmentRuntime(loadConfig({ OPENAI_API_KEY: KEYS.openai, MOCK_PROVIDER: 'true' }));
    expect([...runtime.adapters.values()].map((a) => a.provider)).toEqual(['openai', 'mock']);
    const keyless = {
      deployments: [{ id: 'openai', provider: 'openai' as const }],
      routes: [],
      clients: [],
      hash: 'x',
      source: 'environment' as const,
    };
    expect(() => buildFleetRuntime(keyless, { defaultTimeoutMs: 1_000 })).toThrow('openai is enabled without an API key');
  });
});

describe('mock/echo (in-process)', () => {
  const echo = createMockAdapter({ defaultTimeoutMs: 1_000 });

  it('echoes the last user message with usage; streams it word by word', async () => {
    const request = {
      model: 'echo',
      messages: [
        { role: 'system' as const, content: 'sys' },
        { role: 'user' as const, content: 'one two three' },
      ],
    };
    expect(await echo.chat(request, callOptions(false))).toEqual({
      content: 'one two three',
      finishReason: 'stop',
      usage: { promptTokens: 4, completionTokens: 3, totalTokens: 7 },
      model: 'echo',
    });
    const tokens: string[] = [];
    await echo.chat(request, callOptions(true, { onToken: (t) => tokens.push(t) }));
    expect(tokens).toEqual(['one ', 'two ', 'three']);
  });

  it('other mock models need the server', async () => {
    expect(echo.models).toEqual(['echo']);
    expect((await expectFailure(echo.chat(userRequest('http', 'x'), callOptions(false)))).errorClass).toBe('model_not_found');
    expect(await echo.probe({ timeoutMs: 100 })).toMatchObject({ state: 'active' });
  });

  it.each([
    ['status=503;retry-after=2', 'service_unavailable', 2000],
    ['error=context_length', 'context_length_exceeded', undefined],
    ['error=credits', 'credits_exhausted', undefined],
    ['status=429', 'rate_limited', undefined],
    ['reset', 'network_error', undefined],
    ['malformed', 'invalid_response', undefined],
    ['inband', 'service_unavailable', undefined],
    ['hang', 'timeout', undefined],
  ])('directive [%s] -> %s', async (fault, expected, retryAfterMs) => {
    const err = await expectFailure(echo.chat(userRequest('echo', `x [[mock:${fault}]]`), callOptions(false, { timeoutMs: 50 })));
    expect(err.errorClass).toBe(expected);
    if (retryAfterMs) expect(err.retryAfterMs).toBe(retryAfterMs);
  });

  it('aborts: before the call, during a hang, from inside onToken', async () => {
    const pre = new AbortController();
    pre.abort();
    expect((await expectFailure(echo.chat(userRequest('echo', 'x'), { signal: pre.signal }))).errorClass).toBe('aborted');

    const during = new AbortController();
    const hung = echo.chat(userRequest('echo', 'x [[mock:hang]]'), { signal: during.signal });
    setTimeout(() => during.abort(), 10);
    expect((await expectFailure(hung)).errorClass).toBe('aborted');

    const inside = new AbortController();
    const tokens: string[] = [];
    const err = await expectFailure(
      echo.chat(userRequest('echo', 'a b c d e'), {
        signal: inside.signal,
        onToken: (t) => {
          tokens.push(t);
          if (tokens.length === 2) inside.abort();
        },
      }),
    );
    expect(err.errorClass).toBe('aborted');
    expect(tokens).toHaveLength(2);
  });

  it('a stream cut by directive delivers its tokens, then fails; a throwing onToken is aborted', async () => {
    const tokens: string[] = [];
    const err = await expectFailure(
      echo.chat(userRequest('echo', 'a b c d [[mock:cut=2]]'), callOptions(true, { onToken: (t) => tokens.push(t) })),
    );
    expect(err.errorClass).toBe('network_error');
    expect(tokens).toEqual(['a ', 'b ']);
    const thrown = await expectFailure(
      echo.chat(userRequest('echo', 'a b'), {
        signal: new AbortController().signal,
        onToken: () => {
          throw new Error('consumer bug');
        },
      }),
    );
    expect(thrown.errorClass).toBe('aborted');
  });

  it('is fast enough for the throughput benchmark (no I/O, no timers)', async () => {
    // Judged on this process's CPU time and event-loop turns, which a busy machine cannot inflate
    // (its wall time can): 5,000 calls settle without yielding to the event loop once.
    const cpu = process.cpuUsage();
    const signal = new AbortController().signal;
    const { turns } = await settleInTurns(
      (async () => {
        for (let i = 0; i < 5_000; i++) await echo.chat(userRequest('echo', 'ping'), { signal });
      })(),
    );
    const used = process.cpuUsage(cpu);
    expect(turns).toBeLessThanOrEqual(1);
    expect((used.user + used.system) / 1_000).toBeLessThan(2_000);
  });
});

describe('checkProviderKeys', () => {
  it.each([
    [
      'valid keys: no problems',
      { OPENROUTER_API_KEY: KEYS.openrouter, OPENAI_API_KEY: KEYS.openai, ANTHROPIC_API_KEY: KEYS.anthropic, GEMINI_API_KEY: KEYS.gemini },
      [],
    ],
    ['OpenRouter key of the wrong shape is an error', { OPENROUTER_API_KEY: 'sk-or-v1-abc' }, [['OPENROUTER_API_KEY', 'error']]],
    [
      'OpenRouter key with upper-case hex is an error',
      { OPENROUTER_API_KEY: KEYS.openrouter.toUpperCase().replace('SK-OR-V1-', 'sk-or-v1-') },
      [['OPENROUTER_API_KEY', 'error']],
    ],
    ['placeholder', { OPENAI_API_KEY: 'your-api-key-here' }, [['OPENAI_API_KEY', 'error']]],
    ['quoted', { GEMINI_API_KEY: `"${KEYS.gemini}"` }, [['GEMINI_API_KEY', 'error']]],
    ['key of another vendor', { OPENAI_API_KEY: KEYS.anthropic }, [['OPENAI_API_KEY', 'error']]],
    [
      'odd shape for the vendor is a warning',
      { ANTHROPIC_API_KEY: 'abc123-not-anthropic-like-at-all' },
      [['ANTHROPIC_API_KEY', 'warning']],
    ],
    [
      'odd shape behind a custom base URL is fine',
      { OPENAI_API_KEY: 'local-gateway-key', OPENAI_BASE_URL: 'http://127.0.0.1:9999/v1' },
      [],
    ],
  ] as Array<[string, Record<string, string>, Array<[string, string]>]>)('%s', (_label, env, expected) => {
    const problems = checkProviderKeys(env);
    expect(problems.map((p) => [p.variable, p.severity])).toEqual(expected);
    for (const p of problems) expect(p.message).toMatch(/Fix: /);
  });

  it('accepts a loaded Config too, and formats errors first', () => {
    const config = loadConfig({ OPENAI_API_KEY: 'sk-or-v1-wrong-variable', ANTHROPIC_API_KEY: 'strange-key-of-some-kind' });
    const problems = checkProviderKeys(config);
    expect(problems.map((p) => p.variable)).toEqual(['OPENAI_API_KEY', 'ANTHROPIC_API_KEY']);
    expect(formatKeyProblems(problems).split('\n')[0]).toMatch(/^error: OPENAI_API_KEY holds a key of another provider \(openrouter\)/);
  });
});

describe('checkDeploymentKeys', () => {
  const deployment = (provider: DeploymentConfig['provider'], apiKey: string, baseUrl?: string): DeploymentConfig => ({
    id: `${provider}-1`,
    provider,
    apiKey,
    ...(baseUrl ? { baseUrl } : {}),
  });

  it.each([
    ['a classic Azure key (32 hex)', deployment('azure-openai', KEYS['azure-openai']), []],
    [
      'an Entra token is no shape problem',
      deployment('azure-openai', 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJjb2duaXRpdmUifQ.c2lnbmF0dXJl'),
      [],
    ],
    ['Azure key with a trailing newline', deployment('azure-openai', `${KEYS['azure-openai']}\n`), [['deployments[0].api_key', 'error']]],
    [
      '"Bearer " pasted before an Entra token',
      deployment('azure-openai', 'Bearer eyJ0eXAiOiJKV1QifQ.e30.c2ln'),
      [['deployments[0].api_key', 'error']],
    ],
    [
      'an OpenAI key in an Azure deployment is a warning, not a rejection',
      deployment('azure-openai', KEYS.openai),
      [['deployments[0].api_key', 'warning']],
    ],
    ['any key shape for an OpenAI-compatible server', deployment('openai-compatible', 'token-abc123'), []],
    ['even a word that looks like a placeholder (vLLM docs use EMPTY)', deployment('openai-compatible', 'EMPTY'), []],
    ['but no whitespace', deployment('openai-compatible', 'token abc'), [['deployments[0].api_key', 'error']]],
    ['vendor kinds keep their rules', deployment('openrouter', 'sk-or-v1-abc'), [['deployments[0].api_key', 'error']]],
    ['and their base-URL exception', deployment('openai', 'gateway-key', 'http://127.0.0.1:9999/v1'), []],
  ] as Array<[string, DeploymentConfig, Array<[string, string]>]>)('%s', (_label, config, expected) => {
    const problems = checkDeploymentKeys([config]);
    expect(problems.map((p) => [p.variable, p.severity])).toEqual(expected);
    for (const p of problems) {
      expect(p.deployment).toBe(config.id);
      expect(p.message).toMatch(new RegExp(`^deployment "${config.id}": deployments\\[0\\]\\.api_key .*Fix: `));
      expect(p.message).not.toContain(config.apiKey!.trim().slice(0, 12));
    }
  });

  it('reports by position, skips deployments without a key', () => {
    const problems = checkDeploymentKeys([
      { id: 'local', provider: 'openai-compatible', baseUrl: 'http://127.0.0.1:8000/v1' },
      deployment('azure-openai', ` ${KEYS['azure-openai']}`),
    ]);
    expect(problems.map((p) => p.variable)).toEqual(['deployments[1].api_key']);
  });
});
