// The fault campaign's traffic: a bounded load that checks every answer. Each
// worker sends one GET at a time to a live node's server, on a fresh connection
// (a keep-alive socket to a killed node would only measure the kill), for a
// Zipf-chosen file, sometimes a byte range; every 200/206 body is compared with
// the file's bytes read from disk at the start. autocannon cannot do this: it
// aggregates, and does not bound each request on its own.
import { probe } from '../http-probe';
import { encodePath } from '../../runtime/apps/webcache/load';
import { prng } from '../../runtime/apps/webcache/sample-site';
import { zipfSampler } from '../../runtime/apps/webcache/zipf';

export interface LoadCounts {
  requests: number;
  ok: number;
  /** Clean failures: 5xx, refused or reset connections (a node dying mid-request). */
  failed: number;
  /** A 200/206 whose bytes differ from the file: never allowed. */
  corrupt: number;
  /** No answer and no error within the bound: never allowed. */
  hangs: number;
  /** A status that is wrong for an existing file (404, 416, ...). */
  badStatus: number;
}

export interface Violation {
  check: 'corrupt' | 'hang' | 'badStatus';
  detail: string;
}

export class VerifyingLoad {
  readonly counts: LoadCounts = { requests: 0, ok: 0, failed: 0, corrupt: 0, hangs: 0, badStatus: 0 };
  readonly violations: Violation[] = [];
  private running = false;
  private workers: Promise<void>[] = [];

  constructor(
    private readonly endpoints: () => string[],
    private readonly files: { path: string; bytes: Buffer }[],
    private readonly o: { zipf: number; seed: number; concurrency: number; boundMs: number },
  ) {}

  start(): void {
    this.running = true;
    for (let w = 0; w < this.o.concurrency; w++) this.workers.push(this.worker(this.o.seed * 1000 + w));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    this.workers = [];
  }

  private async worker(seed: number): Promise<void> {
    const rand = prng(seed);
    const pick = zipfSampler(this.files.length, this.o.zipf, seed);
    while (this.running) {
      const eps = this.endpoints();
      if (!eps.length) {
        await sleep(20);
        continue;
      }
      const url = eps[Math.floor(rand() * eps.length)]!;
      const file = this.files[pick()]!;
      let range: [number, number] | null = null;
      if (rand() < 0.1 && file.bytes.length > 1) {
        const a = Math.floor(rand() * file.bytes.length);
        range = [a, Math.min(file.bytes.length - 1, a + Math.floor(rand() * 65536))];
      }
      await this.one(url, file, range);
    }
  }

  private async one(url: string, file: { path: string; bytes: Buffer }, range: [number, number] | null): Promise<void> {
    this.counts.requests++;
    const target = `${url}${encodePath(file.path)}`;
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<'hang'>((r) => (timer = setTimeout(() => r('hang'), this.o.boundMs + 1000)));
    const answer = probe(target, this.o.boundMs, range ? { Range: `bytes=${range[0]}-${range[1]}` } : {}).then(
      (r) => r,
      (e: Error) => e,
    );
    const r = await Promise.race([answer, hang]);
    clearTimeout(timer);
    if (r === 'hang' || (r instanceof Error && /no answer/.test(r.message))) {
      this.counts.hangs++;
      this.violations.push({ check: 'hang', detail: `${target}: no answer within ${this.o.boundMs} ms` });
      return;
    }
    if (r instanceof Error) {
      this.counts.failed++;
      return;
    }
    if (r.status >= 500) {
      this.counts.failed++;
      return;
    }
    const want = range ? file.bytes.subarray(range[0], range[1] + 1) : file.bytes;
    if (r.status !== (range ? 206 : 200)) {
      this.counts.badStatus++;
      this.violations.push({ check: 'badStatus', detail: `${target}${range ? ` range ${range.join('-')}` : ''}: ${r.status}` });
      return;
    }
    if (!r.body.equals(want)) {
      this.counts.corrupt++;
      this.violations.push({ check: 'corrupt', detail: `${target}: ${r.body.length} bytes served differ from the file (${want.length}), x-cache ${r.headers['x-cache']}` });
      return;
    }
    this.counts.ok++;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
