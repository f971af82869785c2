/**
 * Owns the Lua scripts: reads `lua/<name>-<numberOfKeys>.lua` once, resolves `--- @include "x"`
 * lines from `lua/includes/`, and defines each as an ioredis command (EVALSHA, with EVAL only when
 * the server does not know the script yet). Every script call goes through ScriptRunner, which
 * takes keys and arguments apart so a test can observe every key set a script touches.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { RedisClient } from '@switchyard/shared';
import type { ChainableCommander } from 'ioredis';

const LUA_DIR = new URL('./lua/', import.meta.url);
const COMMAND_PREFIX = 'syState_';

export interface ScriptDefinition {
  name: string;
  numberOfKeys: number;
  lua: string;
}

function resolveIncludes(source: string, seen: Set<string>): string {
  return source.replace(/^--- @include "([\w-]+)"\s*$/gm, (_line, name: string) => {
    if (seen.has(name)) return '';
    seen.add(name);
    return resolveIncludes(readFileSync(new URL(`includes/${name}.lua`, LUA_DIR), 'utf8'), seen);
  });
}

function loadScripts(): Map<string, ScriptDefinition> {
  const scripts = new Map<string, ScriptDefinition>();
  for (const file of readdirSync(LUA_DIR)) {
    const match = /^([\w-]+)-(\d+)\.lua$/.exec(file);
    if (!match) continue;
    const [, name, keys] = match as unknown as [string, string, string];
    const lua = resolveIncludes(readFileSync(new URL(file, LUA_DIR), 'utf8'), new Set());
    scripts.set(name, { name, numberOfKeys: Number(keys), lua });
  }
  return scripts;
}

/** Loaded once per process; the files never change while it runs. */
export const SCRIPTS: ReadonlyMap<string, ScriptDefinition> = loadScripts();

export type ScriptName =
  | 'admit'
  | 'circuit-record'
  | 'probe-release'
  | 'provider-state'
  | 'cooldown-extend'
  | 'lock-release'
  | 'circuit-reset'
  | 'metrics-extremes'
  | 'budget-check'
  | 'usage-count'
  | 'spend-add';

export type ScriptArg = string | number;

/** Sees every script call before it is sent: the cluster-slot test hooks in here. */
export type ScriptObserver = (name: ScriptName, keys: readonly string[]) => void;

type ScriptCommand = (...args: ScriptArg[]) => Promise<unknown>;

const defined = new WeakSet<object>();

function defineAll(redis: RedisClient): void {
  if (defined.has(redis)) return;
  for (const script of SCRIPTS.values()) {
    redis.defineCommand(COMMAND_PREFIX + script.name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
  }
  defined.add(redis);
}

export class ScriptRunner {
  constructor(
    private readonly redis: RedisClient,
    private readonly observer?: ScriptObserver,
  ) {
    defineAll(redis);
  }

  private check(name: ScriptName, keys: readonly string[]): string {
    const script = SCRIPTS.get(name);
    if (!script) throw new Error(`unknown Lua script ${name}`);
    if (script.numberOfKeys !== keys.length) {
      throw new Error(`Lua script ${name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
    }
    this.observer?.(name, keys);
    return COMMAND_PREFIX + name;
  }

  /** One script call, one round trip. */
  run(name: ScriptName, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
    const command = this.check(name, keys);
    const fn = (this.redis as unknown as Record<string, ScriptCommand>)[command] as ScriptCommand;
    return fn.call(this.redis, ...keys, ...args);
  }

  /** Queues a script call on a pipeline (defined on the same client, so the command exists there). */
  queue(pipeline: ChainableCommander, name: ScriptName, keys: readonly string[], args: readonly ScriptArg[]): void {
    const command = this.check(name, keys);
    const fn = (pipeline as unknown as Record<string, (...a: ScriptArg[]) => unknown>)[command];
    if (!fn) throw new Error(`Lua script ${name} is not defined on this pipeline`);
    fn.call(pipeline, ...keys, ...args);
  }
}
