/**
 * The API process: loads configuration (exiting with a clear message on a bad value), connects to
 * Redis with a deadline, serves, and closes cleanly on SIGTERM/SIGINT.
 */
import { checkDeploymentKeys, checkProviderKeys, FleetRuntimeSource } from '@switchyard/providers';
import { catchStopSignals, createLogger, loadConfigOrExit, redactUrl } from '@switchyard/shared';
import { buildApp } from './app.ts';
import { type ApiResources, createApiContext } from './context.ts';

const stopSignals = catchStopSignals();

const config = loadConfigOrExit();
const logger = createLogger({ name: 'switchyard-api', level: config.LOG_LEVEL });

// Key shapes are reported at start-up, not at the first job (values are never printed).
for (const problem of checkProviderKeys(config)) {
  logger[problem.severity === 'error' ? 'error' : 'warn']({ provider: problem.provider, variable: problem.variable }, problem.message);
}

// A bad fleet config file stops the process here, every problem named by its path.
const fleet = FleetRuntimeSource.loadOrExit(config, logger);
for (const problem of fleet.current.config.source === 'file' ? checkDeploymentKeys(fleet.current.config.deployments) : []) {
  logger[problem.severity === 'error' ? 'error' : 'warn']({ deployment: problem.deployment, field: problem.variable }, problem.message);
}

let ctx: ApiResources;
try {
  ctx = await createApiContext(config, logger, Math.max(config.REDIS_CONNECT_TIMEOUT_MS, 5000), { fleet });
} catch (err) {
  logger.fatal({ redis: redactUrl(config.REDIS_URL) }, (err as Error).message);
  process.exit(1);
}
const app = await buildApp(ctx);

const address = await app.listen({ host: config.API_HOST, port: config.API_PORT });
logger.info(
  {
    address,
    deployments: fleet.current.config.deployments.map((d) => d.id),
    defaultModel: ctx.models.defaultModel,
    configHash: fleet.hash,
  },
  'switchyard api listening',
);

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  logger.info({ signal }, 'api shutting down');
  const force = setTimeout(() => process.exit(0), config.SHUTDOWN_TIMEOUT_MS).unref();
  // Streams end at once (preClose); other requests get half the drain time, then their connections go.
  const cut = setTimeout(() => app.server.closeAllConnections(), config.SHUTDOWN_TIMEOUT_MS / 2).unref();
  await app.close().catch(() => {});
  clearTimeout(cut);
  await ctx.close();
  clearTimeout(force);
  process.exit(0);
}
stopSignals.onStop((signal) => void shutdown(signal));
