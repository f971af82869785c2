/**
 * Owns what a worker tells the rest of the fleet about a job: the final-state message every API
 * process's CompletionHub waits on, and per-job events (state changes, tokens) for SSE streams.
 * Publishing never fails a job: a Redis hiccup here is logged and dropped.
 */
import {
  encodeJobDone,
  type JobDoneMessage,
  type JobEvent,
  jobDoneChannel,
  jobEventsChannel,
  type Logger,
  type RedisClient,
} from '@switchyard/shared';

export class JobEventPublisher {
  constructor(
    private readonly redis: RedisClient,
    private readonly namespace: string,
    private readonly logger: Logger,
  ) {}

  done(message: JobDoneMessage): void {
    this.redis.publish(jobDoneChannel(this.namespace), encodeJobDone(message)).catch((err: Error) => {
      this.logger.warn({ jobId: message.id, err: { message: err.message } }, 'could not publish job completion');
    });
  }

  event(jobId: string, event: JobEvent): void {
    this.redis.publish(jobEventsChannel(this.namespace, jobId), JSON.stringify(event)).catch((err: Error) => {
      this.logger.debug({ jobId, err: { message: err.message } }, 'could not publish job event');
    });
  }
}
