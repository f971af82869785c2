/**
 * What a request's `model` names (CONTRACT.md, "Routes and deployments"): a route name first, then
 * `<deployment id>/<model>`, then `provider/model`, which is the same rule for the implicit
 * deployments named after their providers; anything else is unknown, with a message naming what
 * exists (the API's 404 model_not_found).
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { implicitFleetConfig, parseFleetConfig } from '../src/fleet-config/index.ts';
import { ModelNames } from '../src/fleet-config/resolve.ts';

const FILE = `
deployments:
  - { id: openai-main, provider: openai, api_key: sk-test-main-0000000000 }
  - { id: local-vllm, provider: openai-compatible, base_url: "http://gpu-box:8000/v1" }
routes:
  - name: gpt-4o
    targets: [ { deployment: openai-main, model: gpt-4o } ]
  # A route spelled like a <deployment>/<model> ref: the route wins.
  - name: openai-main/gpt-4o-mini
    targets: [ { deployment: local-vllm, model: small } ]
`;

const names = new ModelNames(parseFleetConfig(FILE, { env: {}, base: loadConfig({}) }));
const summary = (name: string) => {
  const r = names.resolve(name);
  if (r.kind === 'route') return ['route', r.route.name];
  if (r.kind === 'target') return ['target', r.deployment.id, r.model];
  return ['unknown'];
};

describe('model names under a config file', () => {
  it('a route name first, even one spelled like <deployment>/<model>', () => {
    expect(summary('gpt-4o')).toEqual(['route', 'gpt-4o']);
    expect(summary('openai-main/gpt-4o-mini')).toEqual(['route', 'openai-main/gpt-4o-mini']);
  });

  it('then <deployment id>/<model>, split at the first slash', () => {
    expect(summary('openai-main/gpt-4o')).toEqual(['target', 'openai-main', 'gpt-4o']);
    expect(summary('local-vllm/meta-llama/Llama-3.1-8B-Instruct')).toEqual(['target', 'local-vllm', 'meta-llama/Llama-3.1-8B-Instruct']);
  });

  it('anything else is unknown, naming the routes and deployments that exist', () => {
    // provider/model is a deployment ref only where a deployment has that id (implicit ones do).
    for (const name of ['openai/gpt-4o', 'gpt-5', 'openai-main/', '/gpt-4o', 'GPT-4O']) expect(summary(name), name).toEqual(['unknown']);
    const unknown = names.resolve('openai/gpt-4o');
    expect(unknown.kind === 'unknown' && unknown.message).toContain(
      'routes: gpt-4o, openai-main/gpt-4o-mini; or "<deployment>/<model>" with a deployment of: openai-main, local-vllm',
    );
  });
});

describe('model names without a config file', () => {
  it('provider/model of each enabled provider, its implicit deployment', () => {
    const implicit = new ModelNames(implicitFleetConfig(loadConfig({ OPENAI_API_KEY: 'sk-test-implicit-000000', MOCK_PROVIDER: 'true' })));
    const r = implicit.resolve('openai/gpt-4o');
    expect(r.kind === 'target' && [r.deployment.id, r.deployment.provider, r.model]).toEqual(['openai', 'openai', 'gpt-4o']);
    expect(implicit.resolve('anthropic/claude').kind).toBe('unknown');
    expect(implicit.resolve('gpt-4o').kind).toBe('unknown');
  });
});
