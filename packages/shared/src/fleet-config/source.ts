/**
 * Owns a process's running fleet config and its hot reload. `current` is replaced by one
 * assignment, so a reader sees the old config or the new one, never a mix; a file that fails
 * validation is refused with every problem logged, and the running config stays. Reloads run one
 * at a time; requests arriving during one are folded into a single follow-up read, which sees the
 * latest file. A reload whose hash equals the running one is not a change.
 *
 * start() notices a change by three means: fs.watch on the file's directory (fast, and it sees an
 * editor's write-then-rename), a stat poll every ~1.5 s (bind mounts and network file systems
 * where inotify says nothing; Kubernetes' symlink swaps), and SIGHUP.
 */
import { type FSWatcher, watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { type Config, ConfigError } from '../config.ts';
import type { Logger } from '../logger.ts';
import { fleetConfigPath, loadFleetConfig, readFleetConfigFile } from './load.ts';
import type { FleetConfig } from './types.ts';

export type ReloadOutcome = 'changed' | 'unchanged' | 'refused';

export interface FleetConfigChange {
  previous: FleetConfig;
  current: FleetConfig;
}

export interface FleetConfigSourceOptions {
  config: Config;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** The config already loaded at start-up; loaded (and thrown on when invalid) here otherwise. */
  initial?: FleetConfig;
  /** The stat poll's period. */
  pollMs?: number;
  /** How long to let a burst of file events settle before reading (editors write in steps). */
  settleMs?: number;
  /** false: the stat poll alone, for file systems where fs.watch is silent or unreliable. */
  fsWatch?: boolean;
}

export class FleetConfigSource {
  #current: FleetConfig;
  readonly #listeners = new Set<(change: FleetConfigChange) => void>();
  readonly #path: string | undefined;
  #running: Promise<ReloadOutcome> | undefined;
  #queued: Promise<ReloadOutcome> | undefined;
  #watcher: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #settle: NodeJS.Timeout | undefined;
  #lastStat: string | undefined;
  #polling = false;
  #started = false;
  readonly #onSighup = () => void this.reload('SIGHUP');

  constructor(private readonly options: FleetConfigSourceOptions) {
    this.#current = options.initial ?? loadFleetConfig(options.config, options.env ?? process.env);
    this.#path = this.#current.source === 'file' ? (this.#current.path ?? fleetConfigPath(options.config)) : undefined;
  }

  get current(): FleetConfig {
    return this.#current;
  }

  /** Calls `listener` after each change; returns what removes it. */
  onChange(listener: (change: FleetConfigChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Re-reads the file now (or right after the reload under way). Never throws. */
  reload(reason = 'requested'): Promise<ReloadOutcome> {
    if (!this.#running) {
      this.#running = this.#reloadOnce(reason).finally(() => {
        this.#running = undefined;
      });
      return this.#running;
    }
    this.#queued ??= this.#running.then(() => {
      this.#queued = undefined;
      return this.reload(reason);
    });
    return this.#queued;
  }

  async #reloadOnce(reason: string): Promise<ReloadOutcome> {
    const { logger, config, env } = this.options;
    const path = this.#path;
    if (path === undefined) {
      logger.info({ reason, detail: 'no SWITCHYARD_CONFIG file: the config comes from the environment' }, 'config.reload.skipped');
      return 'unchanged';
    }
    logger.debug({ path, reason }, 'config.reload.started');
    let next: FleetConfig;
    try {
      next = await readFleetConfigFile(path, config, env ?? process.env);
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [String(err)];
      logger.error({ path, reason, hash: this.#current.hash, problems }, 'config.reload.refused');
      return 'refused';
    }
    const previous = this.#current;
    if (next.hash === previous.hash) {
      logger.debug({ path, reason, hash: next.hash }, 'config.reload.unchanged');
      return 'unchanged';
    }
    this.#current = next;
    logger.info(
      { path, reason, previousHash: previous.hash, hash: next.hash, deployments: next.deployments.length, routes: next.routes.length },
      'config.reload.applied',
    );
    for (const listener of this.#listeners) {
      try {
        listener({ previous, current: next });
      } catch (err) {
        logger.error({ hash: next.hash, error: String(err) }, 'config.listener.failed');
      }
    }
    return 'changed';
  }

  /** Watches the file and SIGHUP until stop(). */
  start(): this {
    if (this.#started) return this;
    this.#started = true;
    process.on('SIGHUP', this.#onSighup);
    const path = this.#path;
    if (path === undefined) return this;
    if (this.options.fsWatch !== false) this.#watch(path);
    // A change between the first read and now would otherwise go unseen until the next one.
    void this.#statSignature(path).then((signature) => {
      this.#lastStat ??= signature;
      if (this.#started) void this.reload('started');
    });
    this.#poll = setInterval(() => void this.#pollOnce(path), this.options.pollMs ?? 1500);
    this.#poll.unref();
    return this;
  }

  #watch(path: string): void {
    const name = basename(path);
    try {
      this.#watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
        // `..data` and friends: Kubernetes swaps a ConfigMap's files by renaming a directory symlink.
        if (file === null || file === name || file.startsWith('..')) this.#changed();
      });
      this.#watcher.on('error', (err) => {
        this.options.logger.warn({ path, error: err.message, detail: 'the stat poll goes on' }, 'config.watch.failed');
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch (err) {
      this.options.logger.warn({ path, error: (err as Error).message, detail: 'the stat poll goes on' }, 'config.watch.failed');
    }
  }

  /** Stops watching; resolves once a reload under way has finished. */
  async stop(): Promise<void> {
    this.#started = false;
    process.off('SIGHUP', this.#onSighup);
    this.#watcher?.close();
    this.#watcher = undefined;
    clearInterval(this.#poll);
    clearTimeout(this.#settle);
    await this.#queued;
    await this.#running;
  }

  #changed(): void {
    if (!this.#started) return;
    clearTimeout(this.#settle);
    this.#settle = setTimeout(() => void this.reload('file changed'), this.options.settleMs ?? 150);
    this.#settle.unref();
  }

  async #pollOnce(path: string): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const signature = await this.#statSignature(path);
      if (signature !== this.#lastStat) {
        this.#lastStat = signature;
        this.#changed();
      }
    } finally {
      this.#polling = false;
    }
  }

  /** What changes when the file does: inode (a replaced file), size, modification and change times. */
  async #statSignature(path: string): Promise<string> {
    try {
      const s = await stat(path);
      return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch (err) {
      return `absent:${(err as NodeJS.ErrnoException).code ?? ''}`;
    }
  }
}
