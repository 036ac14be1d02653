// Where a multicomputer keeps its state on disk: $MCS_HOME (default ~/.mcs), one
// directory per named multicomputer, private to the user (the control token lives
// there).
import { chmodSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ControlError } from './api';

export const CLUSTER_NAME_RE = /^[a-z0-9_-]{1,32}$/;
export const DEFAULT_CLUSTER = 'default';

export interface StateDir {
  /** The multicomputer's name. */
  name: string;
  /** $MCS_HOME. */
  home: string;
  /** $MCS_HOME/<name>. */
  dir: string;
}

export function mcsHome(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.MCS_HOME;
  return home && home.length > 0 ? path.resolve(home) : path.join(os.homedir(), '.mcs');
}

export function validateClusterName(name: string, source = '--cluster'): string {
  if (!CLUSTER_NAME_RE.test(name)) {
    throw new ControlError('bad-request', `${source}: bad cluster name '${name}' (1 to 32 of a-z 0-9 _ -)`);
  }
  return name;
}

/** The cluster named by the flag, else $MCS_CLUSTER, else 'default'. */
export function resolveStateDir(opts: { cluster?: string; env?: NodeJS.ProcessEnv } = {}): StateDir {
  const env = opts.env ?? process.env;
  const name =
    opts.cluster !== undefined
      ? validateClusterName(opts.cluster, '--cluster')
      : env.MCS_CLUSTER
        ? validateClusterName(env.MCS_CLUSTER, 'MCS_CLUSTER')
        : DEFAULT_CLUSTER;
  const home = mcsHome(env);
  return { name, home, dir: path.join(home, name) };
}

/** Creates the directory (and $MCS_HOME) readable by the user only. */
export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}
