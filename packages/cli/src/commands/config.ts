/**
 * Owns `switchyard config check [FILE]`: validates a fleet config file as every API and worker
 * process reads it (`${VAR}` from this environment) and prints its hash, deployments and routes;
 * otherwise every problem on stderr and exit 1. Talks to no API, so it runs before a deploy (CI,
 * a pre-commit hook). Keys are never printed: a deployment shows only whether it has one.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Config, ConfigError, type FleetConfig, loadConfig, parseFleetConfig, redactFleetConfig } from '@switchyard/shared';
import { parseCommand, UsageError } from '../config.ts';
import { plural, printJson, stderr, stdout, table } from '../output.ts';

export const CONFIG_HELP = `Usage: switchyard config check [FILE]

Validates a fleet config file (default: $SWITCHYARD_CONFIG) the way the API and the workers read
it, with \${VAR} taken from this environment. Prints the config's hash (the one GET /v1/config
and GET /v1/workers show), its deployments and its routes. Exit 1 with every problem named by its
path in the file, e.g. routes[0].targets[1].deployment.
  --json       the config as GET /v1/config shows it (keys redacted)
  -h, --help   this help`;

const USAGE = 'Usage: switchyard config check [FILE]';

export async function configCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand(args, {});
  if (values.help) {
    stdout(CONFIG_HELP);
    return 0;
  }
  const [subcommand, file, ...extra] = positionals;
  if (subcommand !== 'check') {
    throw new UsageError(subcommand === undefined ? `a subcommand is required. ${USAGE}` : `unknown subcommand "${subcommand}". ${USAGE}`);
  }
  if (extra.length > 0) throw new UsageError(`check takes one file, got also "${extra[0]}". ${USAGE}`);
  const given = file ?? process.env.SWITCHYARD_CONFIG?.trim();
  if (!given) throw new UsageError(`no file: name one, or set SWITCHYARD_CONFIG. ${USAGE}`);
  const path = resolve(given);

  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    stderr(`switchyard config check: cannot read ${path}: ${(err as Error).message}`);
    return 1;
  }
  let fleet: FleetConfig;
  try {
    fleet = parseFleetConfig(text, { env: process.env, path, base: environmentConfig() });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    stderr(`switchyard config check: ${path} is invalid, ${plural(err.problems.length, 'problem')}:`);
    for (const problem of err.problems) stderr(`  - ${problem}`);
    return 1;
  }
  if (values.json) printJson(redactFleetConfig(fleet));
  else stdout(describeFleet(fleet));
  return 0;
}

/** The environment's own settings (DEFAULT_MODEL), which this check is not about: a problem there is a note. */
function environmentConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    stderr(
      `note: this environment's own variables have problems, checked without them:\n${err.problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    return loadConfig({});
  }
}

const host = (url: string | undefined) => {
  if (url === undefined) return '(vendor default)';
  try {
    return new URL(url).host;
  } catch {
    return '?';
  }
};

export function describeFleet(fleet: FleetConfig): string {
  const deployments = table(
    ['DEPLOYMENT', 'PROVIDER', 'BASE URL HOST', 'KEY', 'MAX IN FLIGHT'],
    fleet.deployments.map((d) => [
      d.id,
      d.provider,
      host(d.baseUrl),
      d.apiKey ? 'set' : '-',
      d.maxConcurrency ? String(d.maxConcurrency) : '-',
    ]),
  );
  const routes =
    fleet.routes.length === 0
      ? 'no routes: clients name <deployment>/<model>'
      : table(
          ['ROUTE', 'STRATEGY', 'TARGETS (WEIGHT)', 'FALLBACKS'],
          fleet.routes.map((r) => [
            r.name,
            r.strategy,
            r.targets.map((t) => `${t.deployment}/${t.model} (${t.weight})`).join(', '),
            r.fallbacks.length > 0 ? r.fallbacks.join(', ') : '-',
          ]),
        );
  return [
    `${fleet.path ?? 'config'}: valid`,
    `hash           ${fleet.hash}`,
    `default route  ${fleet.defaultRoute ?? '-'}`,
    '',
    deployments,
    '',
    routes,
  ].join('\n');
}
