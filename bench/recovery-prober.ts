// The recovery benchmark's client, on a thread of its own: the bench process's
// main thread also runs the supervisor (which handles the failure: draining the
// dead node's events, SQLite) and the load generator, and a probe answered while
// that thread was busy would be timed late.
//
// `start` checks that every survivor answers, then waits; `go` (sent just before
// the kill) probes every survivor back to back (one request in flight each) until
// `stop`. The instrument is kept light, since it shares the two cores with what
// it measures: it probes only from the kill on (before, back to back, it was over
// a thousand requests a second on top of the offered load), and over one
// keep-alive connection per survivor (only survivors are probed; a fresh
// connection per probe cost the prober a quarter of a core and each node an
// accept, right when the slowest survivor needs the CPU to finish its recovery).
// Each probe's issue and completion times (monotonic ns, the clock the event log
// uses) and whether it got the right bytes go back to the bench.
import { Agent } from 'node:http';
import { parentPort } from 'node:worker_threads';
import { monotonicNs as nowNs } from '../runtime/gsm/native';
import { probe } from './http-probe';

export interface ProbeRecord {
  issuedNs: number;
  doneNs: number;
  ok: boolean;
}
export type ProberCommand = { cmd: 'start'; urls: string[]; body: Uint8Array } | { cmd: 'go' } | { cmd: 'stop' };
/** `probing`: every survivor answered once (the kill may come); `records`: after stop. */
export type ProberReply = { probing: true } | { records: ProbeRecord[][] };

/** A connection per survivor, kept between probes (a failed one is replaced by the next probe). */
const agents = new Map<string, Agent>();
const agentFor = (url: string) => {
  let a = agents.get(url);
  if (!a) agents.set(url, (a = new Agent({ keepAlive: true, maxSockets: 1 })));
  return a;
};

/** One probe: the right bytes with status 200, or not (an error or timeout is a no). */
const probeOnce = (url: string, body: Uint8Array) =>
  probe(url, 2000, {}, agentFor(url)).then((r) => r.status === 200 && r.body.equals(body), () => false);

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

let armed: { urls: string[]; body: Uint8Array } | null = null;
let running: { stop: boolean; done: Promise<ProbeRecord[][]> } | null = null;

parentPort!.on('message', async (m: ProberCommand) => {
  if (m.cmd === 'start') {
    armed = { urls: m.urls, body: m.body };
    const { urls, body } = armed;
    await Promise.all(urls.map(async (url) => {
      while (!(await probeOnce(url, body))) await pause(5);
    }));
    parentPort!.postMessage({ probing: true } satisfies ProberReply);
  } else if (m.cmd === 'go' && armed) {
    const { urls, body } = armed;
    const state = { stop: false, done: Promise.resolve([] as ProbeRecord[][]) };
    state.done = Promise.all(
      urls.map(async (url) => {
        const out: ProbeRecord[] = [];
        while (!state.stop) {
          const issuedNs = nowNs();
          const ok = await probeOnce(url, body);
          out.push({ issuedNs, doneNs: nowNs(), ok });
          await pause(1);
        }
        return out;
      }),
    );
    running = state;
  } else if (m.cmd === 'stop' && running) {
    running.stop = true;
    const records = await running.done;
    running = null;
    armed = null;
    for (const a of agents.values()) a.destroy();
    agents.clear();
    parentPort!.postMessage({ records } satisfies ProberReply);
  }
});
