// A debugger client for tests: HPD command lines and the event stream through
// the control API's dispatch (so every call is validated by the API schemas),
// against a real multicomputer's debugger service.
import type { Supervisor } from '../../runtime/cluster/supervisor';
import type { DebugEvent, DebugReply } from '../../runtime/control/api';
import { createControlBackend } from '../../runtime/control/backend';
import { dispatch } from '../../runtime/control/dispatch';
import { sleep } from './multicomputer';

export interface DebugClient {
  session: string | null;
  /** Runs one command line; throws the API's error for a bad one. */
  run(line: string): Promise<DebugReply>;
  /** Events after the last ones returned (long-polls up to waitMs). */
  events(waitMs?: number, set?: string): Promise<DebugEvent[]>;
  /** Polls `line` until `ok(reply)` holds. */
  until(line: string, ok: (r: DebugReply) => boolean, timeoutMs?: number): Promise<DebugReply>;
}

export function debugClient(mc: Supervisor): DebugClient {
  const backend = createControlBackend(mc);
  let after = 0;
  const client: DebugClient = {
    session: null,
    async run(line) {
      let r: DebugReply;
      try {
        r = (await dispatch(backend, 'debugCommand', { session: client.session ?? undefined, line })) as DebugReply;
      } catch (e) {
        // A test that stops polling for a while (a node restart) lets its session
        // lapse, as a vanished client would: like a shell, open a new one.
        if ((e as { code?: string }).code !== 'not-found' || !client.session) throw e;
        client.session = null;
        r = (await dispatch(backend, 'debugCommand', { line })) as DebugReply;
      }
      client.session = r.session;
      return r;
    },
    async events(waitMs = 0, set) {
      if (!client.session) await client.run('status');
      const r = (await dispatch(backend, 'debugEvents', { session: client.session!, after, waitMs, set })) as { events: DebugEvent[]; next: number };
      after = r.next;
      return r.events;
    },
    async until(line, ok, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await client.run(line);
        if (ok(r)) return r;
        if (Date.now() > deadline) throw new Error(`timed out waiting on "${line}"; last answer:\n${r.text}`);
        await sleep(100);
      }
    },
  };
  return client;
}

/** Waits until the debugger lists `count` threads (agents attach a moment after nodes start). */
export async function untilThreads(mc: Supervisor, count: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (mc.debugger!.threads().length < count) {
    if (Date.now() > deadline) throw new Error(`the debugger lists ${mc.debugger!.threads().length} threads, expected ${count}`);
    await sleep(50);
  }
}

export const states = (r: DebugReply) => (r.data as { id: string; state: string; where: { fn: string; line: number } | null; reason: string | null }[]);
