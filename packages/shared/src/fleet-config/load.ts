/**
 * Owns where a process's fleet config comes from: the file SWITCHYARD_CONFIG names (resolved to
 * an absolute path, so a reload reads the same file whatever the working directory), else the
 * implicit config of the environment's providers. A file that cannot be read is a ConfigError
 * naming the path and the operating system's reason.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Config } from '../config.ts';
import { implicitFleetConfig } from './implicit.ts';
import { FleetConfigError, parseFleetConfig } from './parse.ts';
import type { FleetConfig } from './types.ts';

export function fleetConfigPath(config: Config): string | undefined {
  return config.SWITCHYARD_CONFIG === undefined ? undefined : resolve(config.SWITCHYARD_CONFIG);
}

function unreadable(path: string, err: unknown): FleetConfigError {
  const reason = (err as Error).message;
  return new FleetConfigError(
    [`SWITCHYARD_CONFIG: cannot read ${path}: ${reason}. Fix: point SWITCHYARD_CONFIG at a readable YAML file.`],
    path,
  );
}

export function loadFleetConfig(config: Config, env: NodeJS.ProcessEnv = process.env): FleetConfig {
  const path = fleetConfigPath(config);
  if (path === undefined) return implicitFleetConfig(config);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw unreadable(path, err);
  }
  return parseFleetConfig(text, { env, path, base: config });
}

/** The same as loadFleetConfig for a file, without blocking the event loop (reloads). */
export async function readFleetConfigFile(path: string, config: Config, env: NodeJS.ProcessEnv): Promise<FleetConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw unreadable(path, err);
  }
  return parseFleetConfig(text, { env, path, base: config });
}
