/**
 * Owns request.log. Fastify gives every request a child logger bound to its id; with pino's path
 * redaction that child was the largest allocation of a cached status answer (13 % of the API's
 * bytes under B4's load, more than Fastify's own request handling), while almost every request
 * writes no line at all at info. This factory hands out a stand-in that makes the real child on
 * the first line that will be written, so the id is still on every line a request logs.
 */
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';

type ChildLoggerFactory = NonNullable<FastifyServerOptions['childLoggerFactory']>;
type Bindings = Parameters<ChildLoggerFactory>[1];
type ChildOptions = Parameters<ChildLoggerFactory>[2];
type LogArgs = Parameters<FastifyBaseLogger['info']>;

/** pino's numbers for its levels: a line is written when its level is at least the logger's. */
const LEVEL_VALUES: Record<string, number> = {
  fatal: 60,
  error: 50,
  warn: 40,
  info: 30,
  debug: 20,
  trace: 10,
  silent: Number.POSITIVE_INFINITY,
};

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
type Level = (typeof LEVELS)[number];

/** One method per level (added to the prototype below), each writing at its level. */
// biome-ignore lint/correctness/noUnusedVariables: merged with the class below, which it types.
interface LazyChildLogger extends Record<Level, (...args: LogArgs) => void> {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the level methods are defined on the prototype below.
class LazyChildLogger {
  private real: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildOptions,
  ) {}

  get level(): string {
    return this.real?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.materialize().level = level;
  }

  silent(): void {}

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.materialize().child(bindings, options);
  }

  write(level: Level, args: LogArgs): void {
    if ((LEVEL_VALUES[level] ?? 0) < (LEVEL_VALUES[this.level] ?? 0)) return;
    (this.materialize()[level] as (...a: LogArgs) => void)(...args);
  }

  private materialize(): FastifyBaseLogger {
    this.real ??= this.parent.child(this.bindings, this.options);
    return this.real;
  }
}

for (const level of LEVELS) {
  LazyChildLogger.prototype[level] = function (this: LazyChildLogger, ...args: LogArgs) {
    this.write(level, args);
  };
}

export const lazyChildLoggerFactory: ChildLoggerFactory = (logger, bindings, options) =>
  // A route with a level of its own gets its real child at once (its level decides what is written).
  options.level ? logger.child(bindings, options) : (new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger);
