/**
 * The fleet config file (SWITCHYARD_CONFIG): a valid file becomes the typed config, and each kind of
 * mistake is one problem named by its path in the file, all of them reported at once, with no key
 * in any message.
 */
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ConfigError, loadConfig } from '../src/config.ts';
import { type FleetConfig, FleetConfigError, parseFleetConfig } from '../src/fleet-config/index.ts';
import { redactSecrets } from '../src/secrets.ts';

const base = loadConfig({});
const ENV = { OPENAI_API_KEY: 'sk-proj-main0000000000000000', OPENAI_API_KEY_2: 'sk-proj-backup000000000000000' };

/** The config of CONTRACT.md's example; each test breaks one thing. */
const CONTRACT_EXAMPLE = `
deployments:                      # where calls go: one endpoint with one key
  - id: openai-main
    provider: openai
    base_url: https://api.openai.com/v1
    api_key: \${OPENAI_API_KEY}
    max_concurrency: 32
  - { id: openai-backup, provider: openai, api_key: "\${OPENAI_API_KEY_2}" }
  - { id: local-vllm, provider: openai-compatible, base_url: "http://gpu-box:8000/v1" }
routes:
  - name: gpt-4o
    strategy: weighted
    targets:
      - { deployment: openai-main, model: gpt-4o, weight: 3 }
      - { deployment: openai-backup, model: gpt-4o, weight: 1 }
    fallbacks: [local]
    budget_ms: 20000
  - name: local
    targets: [ { deployment: local-vllm, model: meta-llama/Llama-3.1-8B-Instruct } ]
default_route: gpt-4o
`;

type FileShape = {
  deployments: Record<string, unknown>[];
  routes: Record<string, unknown>[];
  default_route?: string;
  [key: string]: unknown;
};

/** The same fleet as an object, written out as JSON (which is YAML too) once a test has broken it. */
const valid = () => YAML.parse(CONTRACT_EXAMPLE) as FileShape;

const parse = (text: string, env: NodeJS.ProcessEnv = ENV): FleetConfig =>
  parseFleetConfig(text, { env, base, path: '/etc/switchyard/fleet.yaml' });

function problemsOf(file: FileShape | string, env: NodeJS.ProcessEnv = ENV): string[] {
  try {
    parse(typeof file === 'string' ? file : JSON.stringify(file, null, 2), env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected the file to be refused');
}

/** Breaks the valid file with `edit` and expects exactly one problem. */
function onlyProblem(edit: (file: FileShape) => void, env?: NodeJS.ProcessEnv): string {
  const file = valid();
  edit(file);
  const problems = problemsOf(file, env);
  expect(problems).toHaveLength(1);
  return problems[0] as string;
}

const deployment = (file: FileShape, i: number) => file.deployments[i] as Record<string, unknown>;
const route = (file: FileShape, i: number) => file.routes[i] as Record<string, unknown>;
const targets = (file: FileShape, i: number) => route(file, i).targets as Record<string, unknown>[];

describe('a valid fleet config file', () => {
  it("reads CONTRACT.md's example into the typed config, with keys from the environment", () => {
    const config = parse(CONTRACT_EXAMPLE);
    expect(config.source).toBe('file');
    expect(config.path).toBe('/etc/switchyard/fleet.yaml');
    expect(config.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(config.deployments).toEqual([
      { id: 'openai-main', provider: 'openai', baseUrl: 'https://api.openai.com/v1', apiKey: ENV.OPENAI_API_KEY, maxConcurrency: 32 },
      { id: 'openai-backup', provider: 'openai', apiKey: ENV.OPENAI_API_KEY_2 },
      { id: 'local-vllm', provider: 'openai-compatible', baseUrl: 'http://gpu-box:8000/v1' },
    ]);
    expect(config.routes).toEqual([
      {
        name: 'gpt-4o',
        strategy: 'weighted',
        targets: [
          { deployment: 'openai-main', model: 'gpt-4o', weight: 3 },
          { deployment: 'openai-backup', model: 'gpt-4o', weight: 1 },
        ],
        fallbacks: ['local'],
        budgetMs: 20000,
      },
      // Defaults: ordered, weight 1, no fallbacks.
      {
        name: 'local',
        strategy: 'ordered',
        targets: [{ deployment: 'local-vllm', model: 'meta-llama/Llama-3.1-8B-Instruct', weight: 1 }],
        fallbacks: [],
      },
    ]);
    expect(config.defaultRoute).toBe('gpt-4o');
  });

  it('takes an Azure deployment, prices, hedging per route and <deployment>/<model> refs', () => {
    const file = valid();
    file.deployments.push({
      id: 'azure-eu',
      provider: 'azure-openai',
      base_url: 'https://my-resource.openai.azure.com/',
      api_key: 'azure-key-0123456789abcdef',
      api_version: '2024-10-21',
      price: { input_per_mtok: 2.5, output_per_mtok: '10' },
    });
    file.routes.push({
      name: 'smart',
      strategy: 'latency',
      targets: [{ deployment: 'azure-eu', model: 'gpt-4o-prod', price: { input_per_mtok: 0, output_per_mtok: 0 } }],
      fallbacks: ['openai-main/gpt-4o', 'gpt-4o'],
      hedge_delay_ms: 0,
      hedge_stagger_ms: '250',
    });
    file.default_route = 'local-vllm/llama-3.1-8b';
    const config = parse(JSON.stringify(file));
    expect(config.deployments[3]).toEqual({
      id: 'azure-eu',
      provider: 'azure-openai',
      baseUrl: 'https://my-resource.openai.azure.com',
      apiKey: 'azure-key-0123456789abcdef',
      apiVersion: '2024-10-21',
      price: { inputPerMtok: 2.5, outputPerMtok: 10 },
    });
    expect(config.routes[2]).toEqual({
      name: 'smart',
      strategy: 'latency',
      targets: [{ deployment: 'azure-eu', model: 'gpt-4o-prod', weight: 1, price: { inputPerMtok: 0, outputPerMtok: 0 } }],
      fallbacks: ['openai-main/gpt-4o', 'gpt-4o'],
      hedgeDelayMs: 0,
      hedgeStaggerMs: 250,
    });
    expect(config.defaultRoute).toBe('local-vllm/llama-3.1-8b');
  });

  it('without default_route takes DEFAULT_MODEL when the file resolves it, else the first route', () => {
    const file = valid();
    delete file.default_route;
    file.deployments.push({ id: 'mock', provider: 'mock' });
    expect(base.DEFAULT_MODEL).toBe('mock/echo');
    expect(parse(JSON.stringify(file)).defaultRoute).toBe('mock/echo');
    file.deployments.pop();
    expect(parse(JSON.stringify(file)).defaultRoute).toBe('gpt-4o');
  });

  it('takes YAML anchors and merge keys, so shared settings are written once', () => {
    const config = parse(`
deployments:
  - &openai { id: openai-main, provider: openai, api_key: "\${OPENAI_API_KEY}", max_concurrency: 16 }
  - { <<: *openai, id: openai-backup, api_key: "\${OPENAI_API_KEY_2}" }
`);
    expect(config.deployments).toEqual([
      { id: 'openai-main', provider: 'openai', apiKey: ENV.OPENAI_API_KEY, maxConcurrency: 16 },
      { id: 'openai-backup', provider: 'openai', apiKey: ENV.OPENAI_API_KEY_2, maxConcurrency: 16 },
    ]);
  });

  it('registers every key as a secret, so log redaction covers keys of any shape', () => {
    const key = 'plain-looking-key-7c41d09e';
    expect(redactSecrets(`calling with ${key}`)).toContain(key);
    parse(CONTRACT_EXAMPLE, { ...ENV, OPENAI_API_KEY: key });
    expect(redactSecrets(`calling with ${key}`)).toBe('calling with [REDACTED]');
  });
});

describe('${VAR} in the file', () => {
  it('expands variables anywhere in a string, $${ is a literal ${, and $VAR is left alone', () => {
    const file = valid();
    deployment(file, 2).base_url = 'http://${VLLM_HOST}:${VLLM_PORT}/v1';
    targets(file, 1)[0] = { deployment: 'local-vllm', model: 'cost-$${tier}-$HOME' };
    deployment(file, 0).max_concurrency = '${MAX_INFLIGHT}';
    const config = parse(JSON.stringify(file), { ...ENV, VLLM_HOST: 'gpu-box', VLLM_PORT: '8000', MAX_INFLIGHT: '12' });
    expect(config.deployments[2]?.baseUrl).toBe('http://gpu-box:8000/v1');
    expect(config.routes[1]?.targets[0]?.model).toBe('cost-${tier}-$HOME');
    expect(config.deployments[0]?.maxConcurrency).toBe(12);
  });

  it('names the field and the variable when the variable is missing or empty, once per field', () => {
    expect(onlyProblem(() => {}, { OPENAI_API_KEY: ENV.OPENAI_API_KEY })).toBe(
      'deployments[1].api_key: environment variable OPENAI_API_KEY_2 is not set. Fix: set OPENAI_API_KEY_2 in the environment of every process.',
    );
    expect(onlyProblem(() => {}, { ...ENV, OPENAI_API_KEY: '' })).toMatch(
      /^deployments\[0\]\.api_key: environment variable OPENAI_API_KEY is empty/,
    );
    // Not also "not a valid URL": the variable is the problem.
    expect(onlyProblem((f) => (deployment(f, 2).base_url = 'http://${GPU_HOST}/v1'))).toMatch(
      /^deployments\[2\]\.base_url: environment variable GPU_HOST is not set/,
    );
  });

  it('refuses the shell forms it does not expand, and an unclosed ${', () => {
    expect(onlyProblem((f) => (deployment(f, 2).base_url = '${VLLM_URL:-http://gpu-box:8000/v1}'))).toMatch(
      /^deployments\[2\]\.base_url: "\$\{VLLM_URL:-http:\/\/gpu-box:8000\/v1\}" is not a variable reference: only \$\{NAME\}/,
    );
    // In api_key too, where the unexpanded text must not be taken for (and registered as) a key.
    expect(onlyProblem((f) => (deployment(f, 0).api_key = '${OPENAI_API_KEY:-sk-fallback}'))).toMatch(
      /^deployments\[0\]\.api_key: "\$\{OPENAI_API_KEY:-sk-fallback\}" is not a variable reference/,
    );
    expect(redactSecrets('${OPENAI_API_KEY:-sk-fallback}')).toBe('${OPENAI_API_KEY:-sk-fallback}');
    expect(onlyProblem((f) => (targets(f, 1)[0] = { deployment: 'local-vllm', model: 'x-${TIER' }))).toMatch(
      /^routes\[1\]\.targets\[0\]\.model: has "\$\{" without a closing "\}"/,
    );
  });
});

describe('each mistake is named by its path', () => {
  it('an unknown deployment in a target, with the known ids', () => {
    expect(onlyProblem((f) => (targets(f, 0)[1] = { deployment: 'zzz', model: 'gpt-4o' }))).toBe(
      'routes[0].targets[1].deployment: unknown deployment "zzz" (known: openai-main, openai-backup, local-vllm)',
    );
  });

  it('a malformed id and a duplicate id', () => {
    expect(onlyProblem((f) => f.deployments.push({ id: 'Local_VLLM', provider: 'mock' }))).toMatch(
      /^deployments\[3\]\.id: "Local_VLLM" is not a valid id/,
    );
    // The route naming local-vllm now sees no deployment of that id: the rename breaks both.
    const file = valid();
    deployment(file, 2).id = '-vllm';
    expect(problemsOf(file)).toEqual([
      expect.stringMatching(/^deployments\[2\]\.id: "-vllm" is not a valid id/),
      expect.stringMatching(/^routes\[1\]\.targets\[0\]\.deployment: unknown deployment "local-vllm"/),
    ]);
    expect(onlyProblem((f) => f.deployments.push({ id: 'openai-main', provider: 'mock' }))).toBe(
      'deployments[3].id: duplicate deployment id "openai-main" (also deployments[0].id). Fix: make each id unique.',
    );
  });

  it.each([0, -2, 'heavy', '', [3]])('a bad weight (%j)', (weight) => {
    const problem = onlyProblem((f) => (targets(f, 0)[0] = { deployment: 'openai-main', model: 'gpt-4o', weight }));
    expect(problem).toMatch(/^routes\[0\]\.targets\[0\]\.weight: must be a positive number/);
  });

  it('a duplicate route name, and a route named like a deployment', () => {
    expect(onlyProblem((f) => f.routes.push({ name: 'local', targets: [{ deployment: 'local-vllm', model: 'x' }] }))).toBe(
      'routes[2].name: duplicate route name "local" (also routes[1].name). Fix: make each name unique.',
    );
    expect(onlyProblem((f) => f.routes.push({ name: 'openai-backup', targets: [{ deployment: 'openai-backup', model: 'x' }] }))).toMatch(
      /^routes\[2\]\.name: "openai-backup" is also a deployment id/,
    );
  });

  it('fallbacks naming an unknown route or an unknown deployment', () => {
    expect(onlyProblem((f) => (route(f, 0).fallbacks = ['local', 'locl']))).toMatch(
      /^routes\[0\]\.fallbacks\[1\]: unknown route "locl" \(routes: gpt-4o, local\)/,
    );
    expect(onlyProblem((f) => (route(f, 0).fallbacks = ['vllm/llama']))).toBe(
      'routes[0].fallbacks[0]: "vllm/llama" names unknown deployment "vllm" (known: openai-main, openai-backup, local-vllm)',
    );
  });

  it('a fallback loop across routes, named with its cycle', () => {
    expect(onlyProblem((f) => (route(f, 1).fallbacks = ['gpt-4o']))).toMatch(
      /^routes\[0\]\.fallbacks\[0\]: fallback loop gpt-4o -> local -> gpt-4o\./,
    );
    expect(onlyProblem((f) => (route(f, 1).fallbacks = ['local']))).toMatch(/^routes\[1\]\.fallbacks\[0\]: fallback loop local -> local\./);
    const file = valid();
    route(file, 0).fallbacks = ['local', 'openai-main/gpt-4o'];
    route(file, 1).fallbacks = ['cheap'];
    file.routes.push({ name: 'cheap', targets: [{ deployment: 'local-vllm', model: 'x' }], fallbacks: ['gpt-4o'] });
    expect(problemsOf(file)).toEqual([
      expect.stringMatching(/^routes\[0\]\.fallbacks\[0\]: fallback loop gpt-4o -> local -> cheap -> gpt-4o\./),
    ]);
  });

  it('an unknown default_route', () => {
    expect(onlyProblem((f) => (f.default_route = 'gpt4o'))).toMatch(/^default_route: unknown route "gpt4o" \(routes: gpt-4o, local\)/);
    expect(onlyProblem((f) => (f.default_route = 'openai/gpt-4o'))).toMatch(
      /^default_route: "openai\/gpt-4o" names unknown deployment "openai"/,
    );
  });

  it('base_url: required for openai-compatible and azure-openai, and http(s) only', () => {
    expect(onlyProblem((f) => delete deployment(f, 2).base_url)).toMatch(
      /^deployments\[2\]\.base_url: is required for provider openai-compatible/,
    );
    const problems = problemsOf({
      ...valid(),
      deployments: [...valid().deployments, { id: 'az', provider: 'azure-openai', api_key: 'k-0123456789', api_version: '2024-10-21' }],
    });
    expect(problems).toEqual([expect.stringMatching(/^deployments\[3\]\.base_url: is required for provider azure-openai/)]);
    expect(onlyProblem((f) => (deployment(f, 2).base_url = 'ftp://gpu-box/v1'))).toMatch(
      /^deployments\[2\]\.base_url: must be an http\(s\) URL, got "ftp:\/\/gpu-box\/v1"/,
    );
    expect(onlyProblem((f) => (deployment(f, 2).base_url = 'gpu-box:8000'))).toMatch(
      /^deployments\[2\]\.base_url: must be an http\(s\) URL/,
    );
  });

  it('api_version: required for azure-openai, refused elsewhere, and shaped like a date', () => {
    const azure = (extra: Record<string, unknown>) => (f: FileShape) =>
      f.deployments.push({ id: 'az', provider: 'azure-openai', base_url: 'https://r.openai.azure.com', api_key: 'k-0123456789', ...extra });
    expect(onlyProblem(azure({}))).toMatch(/^deployments\[3\]\.api_version: is required for provider azure-openai/);
    expect(onlyProblem(azure({ api_version: 'latest' }))).toMatch(/^deployments\[3\]\.api_version: must be an Azure OpenAI API version/);
    expect(onlyProblem((f) => (deployment(f, 0).api_version = '2024-10-21'))).toMatch(
      /^deployments\[0\]\.api_version: only azure-openai deployments take an api_version, this one is openai/,
    );
  });

  it.each(['openai', 'azure-openai', 'openrouter', 'anthropic', 'gemini'])('api_key: required for %s', (provider) => {
    const problems = problemsOf({
      deployments: [
        { id: 'd', provider, base_url: 'https://example.test', ...(provider === 'azure-openai' ? { api_version: '2024-10-21' } : {}) },
      ],
      routes: [],
    });
    expect(problems).toEqual([expect.stringMatching(new RegExp(`^deployments\\[0\\]\\.api_key: is required for provider ${provider}\\.`))]);
  });

  it.each(['openai-compatible', 'ollama', 'mock'])('api_key: optional for %s', (provider) => {
    expect(
      parse(JSON.stringify({ deployments: [{ id: 'd', provider, base_url: 'http://127.0.0.1:9/v1' }] })).deployments[0]?.apiKey,
    ).toBeUndefined();
  });

  it('an OpenRouter key of the wrong shape, checked like OPENROUTER_API_KEY, without showing it', () => {
    const key = 'sk-or-v1-notreallyhexbutlongenough-0123456789';
    const problem = onlyProblem((f) => f.deployments.push({ id: 'or', provider: 'openrouter', api_key: '${OR_KEY}' }), {
      ...ENV,
      OR_KEY: key,
    });
    expect(problem).toMatch(
      /^deployments\[3\]\.api_key: is malformed: expected "sk-or-v1-" followed by 64 hex characters \(value not shown, 45 characters\)/,
    );
    expect(problem).not.toContain('notreallyhex');
    const good = `sk-or-v1-${'ab'.repeat(32)}`;
    const file = valid();
    file.deployments.push({ id: 'or', provider: 'openrouter', api_key: good });
    expect(parse(JSON.stringify(file)).deployments[3]?.apiKey).toBe(good);
  });

  it('a key put in the wrong field, without showing it', () => {
    const token = 'tok9f8e7d6c5b4a3f2e1d';
    const problem = onlyProblem((f) => (deployment(f, 2).base_url = '${VLLM_TOKEN}'), { ...ENV, VLLM_TOKEN: token });
    expect(problem).not.toContain('9f8e7d6c');
    expect(problem).toBe(
      'deployments[2].base_url: must be an http(s) URL, got "[REDACTED]". Fix: e.g. https://api.openai.com/v1 or http://gpu-box:8000/v1.',
    );
  });

  it('a key with white space, without showing it', () => {
    const problem = onlyProblem(() => {}, { ...ENV, OPENAI_API_KEY: 'sk-proj-abc def0000000000000' });
    expect(problem).toMatch(/^deployments\[0\]\.api_key: contains white space \(value not shown\)/);
    expect(problem).not.toContain('abc');
  });

  it.each([0, 1.5, 'many', 100_001])('max_concurrency must be a positive whole number (%j)', (value) => {
    expect(onlyProblem((f) => (deployment(f, 0).max_concurrency = value))).toMatch(
      /^deployments\[0\]\.max_concurrency: must be a whole number from 1 to 100000/,
    );
  });

  it('budget_ms and the hedge delays in the ranges of their environment variables', () => {
    expect(onlyProblem((f) => (route(f, 0).budget_ms = 50))).toMatch(
      /^routes\[0\]\.budget_ms: must be a whole number from 100 to 600000, got 50/,
    );
    expect(onlyProblem((f) => (route(f, 0).hedge_delay_ms = -1))).toMatch(
      /^routes\[0\]\.hedge_delay_ms: must be a whole number from 0 to 600000/,
    );
    expect(onlyProblem((f) => (route(f, 1).hedge_stagger_ms = 600_001))).toMatch(
      /^routes\[1\]\.hedge_stagger_ms: must be a whole number from 0 to 600000/,
    );
  });

  it('a route with no targets', () => {
    expect(onlyProblem((f) => (route(f, 1).targets = []))).toMatch(/^routes\[1\]\.targets: a route needs at least one target/);
    expect(onlyProblem((f) => delete route(f, 1).targets)).toMatch(/^routes\[1\]\.targets: is required/);
  });

  it('a price with a negative or missing figure', () => {
    expect(onlyProblem((f) => (deployment(f, 0).price = { input_per_mtok: -1, output_per_mtok: 10 }))).toMatch(
      /^deployments\[0\]\.price\.input_per_mtok: must be a number of dollars per million tokens, 0 or more, got -1/,
    );
    expect(onlyProblem((f) => (targets(f, 0)[0] = { deployment: 'openai-main', model: 'gpt-4o', price: { input_per_mtok: 1 } }))).toMatch(
      /^routes\[0\]\.targets\[0\]\.price\.output_per_mtok: is required/,
    );
  });

  it('unknown keys, with a hint for a near miss', () => {
    expect(onlyProblem((f) => (deployment(f, 2).baseUrl = 'http://x'))).toMatch(
      /^deployments\[2\]\.baseUrl: unknown key \(did you mean "base_url"\?\)/,
    );
    expect(onlyProblem((f) => (route(f, 0).fallback = []))).toMatch(/^routes\[0\]\.fallback: unknown key \(did you mean "fallbacks"\?\)/);
    expect(onlyProblem((f) => (targets(f, 0)[0] = { deployment: 'openai-main', model: 'gpt-4o', wieght: 2 }))).toMatch(
      /^routes\[0\]\.targets\[0\]\.wieght: unknown key \(did you mean "weight"\?\)/,
    );
    expect(onlyProblem((f) => (f.default_model = 'gpt-4o'))).toMatch(/^default_model: unknown key \(did you mean "default_route"\?\)/);
    expect(onlyProblem((f) => (f.colour = 'blue'))).toBe(
      'colour: unknown key. Known keys here: deployments, routes, default_route, clients.',
    );
  });

  it('an unknown provider or strategy, with a hint', () => {
    expect(onlyProblem((f) => (deployment(f, 2).provider = 'vllm'))).toMatch(
      /^deployments\[2\]\.provider: unknown provider "vllm" \(did you mean "openai-compatible"\?\)\. Fix: use one of openai, azure-openai,/,
    );
    expect(onlyProblem((f) => (route(f, 0).strategy = 'least_busy'))).toMatch(
      /^routes\[0\]\.strategy: unknown strategy "least_busy" \(did you mean "least-busy"\?\)/,
    );
  });

  it('YAML syntax, an empty file and a file that is not a mapping', () => {
    expect(problemsOf('deployments:\n  - id: a\n   provider: mock\n')).toEqual([
      expect.stringMatching(/^line 3, column \d+: .*\(YAML syntax\)$/),
    ]);
    expect(problemsOf('deployments: []\ndeployments: []\n')).toEqual([expect.stringMatching(/^line 2, column 1: .*unique/)]);
    expect(problemsOf('# nothing yet\n')).toEqual([expect.stringMatching(/^the file is empty/)]);
    expect(problemsOf('- id: a\n')).toEqual(['the file must be a mapping of deployments, routes and default_route, got a list.']);
    expect(problemsOf('routes: []\n')).toEqual([expect.stringMatching(/^deployments: is required/)]);
    // A billion laughs: aliases of aliases, refused instead of expanded.
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      laughs.push(
        `${'b'.repeat(i)}: &${'b'.repeat(i)} [${Array(10)
          .fill(i === 1 ? '*a' : `*${'b'.repeat(i - 1)}`)
          .join(', ')}]`,
      );
    expect(problemsOf(laughs.join('\n'))).toEqual([expect.stringMatching(/alias count.*\(YAML\)$/i)]);
  });
});

describe('the error as a whole', () => {
  it('lists every problem at once, in file order, under the file name', () => {
    const file = valid();
    deployment(file, 0).max_concurrency = 0;
    deployment(file, 2).provider = 'vllm';
    targets(file, 0)[1] = { deployment: 'zzz', model: 'gpt-4o', weight: -1 };
    route(file, 1).fallbacks = ['gpt-4o'];
    file.default_route = 'nowhere';
    let error: unknown;
    try {
      parse(JSON.stringify(file), { OPENAI_API_KEY: ENV.OPENAI_API_KEY });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FleetConfigError);
    const { problems, message } = error as FleetConfigError;
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'default_route',
      'deployments[0].max_concurrency',
      'deployments[1].api_key',
      'deployments[2].provider',
      'routes[0].fallbacks[0]',
      'routes[0].targets[1].deployment',
      'routes[0].targets[1].weight',
    ]);
    expect(message.split('\n')[0]).toBe('Invalid fleet config /etc/switchyard/fleet.yaml (SWITCHYARD_CONFIG):');
    expect(message).toContain('  - routes[0].targets[1].deployment: unknown deployment "zzz"');
    expect(message).not.toContain(ENV.OPENAI_API_KEY);
  });
});
