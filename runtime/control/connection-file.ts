// <stateDir>/control.json tells local tools (the CLI, a second console) where the
// running supervisor's control server listens and which token it accepts. It is
// written atomically with mode 0600 in a 0700 directory: the token is the only
// thing between another local user and kill-node.
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ControlError, describeIssues } from './api';
import { ensureStateDir } from './state-dir';

export const CONTROL_FILE = 'control.json';

export const ConnectionInfo = z.object({
  url: z.url({ protocol: /^https?$/ }),
  token: z.string().regex(/^[0-9a-f]{64}$/, 'expected 32 bytes of hex'),
  pid: z.number().int().positive(),
  startedAtMs: z.number(),
});
export type ConnectionInfo = z.infer<typeof ConnectionInfo>;

export function controlFilePath(stateDir: string): string {
  return path.join(stateDir, CONTROL_FILE);
}

export function newToken(): string {
  return randomBytes(32).toString('hex');
}

export function writeConnectionFile(stateDir: string, info: ConnectionInfo): void {
  ensureStateDir(stateDir);
  const file = controlFilePath(stateDir);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  // 'wx' + mode: the file is never readable by others, not even for an instant.
  writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  renameSync(tmp, file);
}

/** null when there is no file; ControlError when it exists but cannot be used. */
export function readConnectionFile(stateDir: string): ConnectionInfo | null {
  const file = controlFilePath(stateDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ControlError('unavailable', `cannot read ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ControlError('unavailable', `${file} is not valid JSON`);
  }
  const r = ConnectionInfo.safeParse(raw);
  if (!r.success) throw new ControlError('unavailable', `${file} is malformed: ${describeIssues(r.error, 'file')}`);
  return r.data;
}

/** Removes the file only if it is still ours: a newer supervisor may have replaced it. */
export function removeConnectionFile(stateDir: string, token: string): void {
  try {
    if (readConnectionFile(stateDir)?.token !== token) return;
    unlinkSync(controlFilePath(stateDir));
  } catch {
    // Already gone or unreadable: nothing of ours left to remove.
  }
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
