// The recovery benchmark's client, on a thread of its own: the bench process's
// main thread also runs the supervisor (which handles the failure: draining the
// dead node's events, SQLite) and the load generator, and a probe answered while
// that thread was busy would be timed late. Every survivor is probed back to back
// (one request in flight each, a fresh connection per request) until told to
// stop; each probe's issue and completion times (monotonic ns, the clock the
// event log uses) and whether it got the right bytes go back to the bench.
import { parentPort } from 'node:worker_threads';
import { monotonicNs as nowNs } from '../runtime/gsm/native';
import { probe } from './http-probe';

export interface ProbeRecord {
  issuedNs: number;
  doneNs: number;
  ok: boolean;
}
export type ProberCommand = { cmd: 'start'; urls: string[]; body: Uint8Array } | { cmd: 'stop' };
/** `probing`: every survivor answered once (the clock can start); `records`: after stop. */
export type ProberReply = { probing: true } | { records: ProbeRecord[][] };

/** One probe: the right bytes with status 200, or not (an error or timeout is a no). */
const probeOnce = (url: string, body: Uint8Array) =>
  probe(url, 2000).then((r) => r.status === 200 && r.body.equals(body), () => false);

let running: { stop: boolean; done: Promise<ProbeRecord[][]> } | null = null;

parentPort!.on('message', async (m: ProberCommand) => {
  if (m.cmd === 'start') {
    const state = { stop: false, done: Promise.resolve([] as ProbeRecord[][]) };
    let answered = 0;
    state.done = Promise.all(
      m.urls.map(async (url) => {
        const out: ProbeRecord[] = [];
        let seen = false;
        while (!state.stop) {
          const issuedNs = nowNs();
          const ok = await probeOnce(url, m.body);
          out.push({ issuedNs, doneNs: nowNs(), ok });
          if (ok && !seen) {
            seen = true;
            if (++answered === m.urls.length) parentPort!.postMessage({ probing: true } satisfies ProberReply);
          }
          await new Promise((r) => setTimeout(r, 1));
        }
        return out;
      }),
    );
    running = state;
  } else if (running) {
    running.stop = true;
    const records = await running.done;
    running = null;
    parentPort!.postMessage({ records } satisfies ProberReply);
  }
});
