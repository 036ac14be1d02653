// npm run bench -- gsm
//   read_64k_mbps / write_64k_mbps  64 KiB copies out of / into a GSM section
//       (bounds and generation guard included) vs Uint8Array.prototype.set of the
//       same size inside one process
//   read_8b_ns  an 8-byte read from a section vs a JS typed-array read
// The MCS prototype paid 12x for GSM access; bulk access here should cost ~nothing.
import { Gsm } from '../../runtime/gsm/gsm';
import { GlobalObjects } from '../../runtime/objects/global-objects';
import { metric, type Suite } from '../metric';
import { bestNsPerOp } from './mutex';

const SIZE = 64 * 1024;
const SLOTS = 64; // walk 4 MiB so the copies are not served from L1 alone

const suite: Suite = async (report) => {
  const name = `/mcs-bench-gsm-${process.pid}`;
  const gsm = Gsm.create(name, { maxNodes: 2, contributionBytes: 8 << 20, objectCapacity: 64, logRingBytes: 4096 });
  try {
    const objects = new GlobalObjects(gsm, { node: 0, incarnation: 1 });
    const section = await objects.createSection('bench', SIZE * SLOTS);
    const buf = new Uint8Array(SIZE).fill(7);
    const local = new Uint8Array(SIZE * SLOTS).fill(3);
    const mbps = (nsPerOp: number) => SIZE / 1048576 / (nsPerOp / 1e9);

    const readNs = bestNsPerOp(20_000, (n) => {
      for (let i = 0; i < n; i++) section.read((i % SLOTS) * SIZE, buf);
    });
    const setReadNs = bestNsPerOp(20_000, (n) => {
      for (let i = 0; i < n; i++) buf.set(local.subarray((i % SLOTS) * SIZE, (i % SLOTS + 1) * SIZE));
    });
    report(metric('gsm', 'read_64k_mbps', 'MB/s', mbps(readNs), mbps(setReadNs), 'baseline: Uint8Array.set, same size'));

    const writeNs = bestNsPerOp(20_000, (n) => {
      for (let i = 0; i < n; i++) section.write((i % SLOTS) * SIZE, buf);
    });
    const setWriteNs = bestNsPerOp(20_000, (n) => {
      for (let i = 0; i < n; i++) local.set(buf, (i % SLOTS) * SIZE);
    });
    report(metric('gsm', 'write_64k_mbps', 'MB/s', mbps(writeNs), mbps(setWriteNs), 'baseline: Uint8Array.set, same size'));

    const small = new Uint8Array(8);
    const read8 = bestNsPerOp(2_000_000, (n) => {
      for (let i = 0; i < n; i++) section.read((i & 1023) * 8, small);
    });
    const f64 = new Float64Array(1024);
    let sink = 0;
    const typed8 = bestNsPerOp(2_000_000, (n) => {
      for (let i = 0; i < n; i++) sink += f64[i & 1023];
    });
    report(metric('gsm', 'read_8b_ns', 'ns', read8, typed8, `one native call per read${sink ? '' : ''}`));
    await section.close();
  } finally {
    gsm.close();
    Gsm.unlink(name);
  }
};
export default suite;
