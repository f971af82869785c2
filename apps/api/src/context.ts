/** The API process's dependencies, built once in main.ts (or a test) and handed to the app. */
import type { Config, Logger, RedisClient } from '@switchyard/shared';
import type { CompletionHub } from './jobs/completion-hub.ts';
import type { JobService } from './jobs/job-service.ts';

export interface ApiContext {
  config: Config;
  logger: Logger;
  /** Request-path connection: fails fast while Redis is down (no offline queue). */
  redis: RedisClient;
  jobs: JobService;
  hub: CompletionHub;
}

declare module 'fastify' {
  interface FastifyInstance {
    ctx: ApiContext;
  }
}
