// One side of the mutex handoff benchmark (bench/suites/mutex.ts). Two of these
// pass a global mutex back and forth: the holder waits until the other side is
// asleep in lockSync, stamps the time in a section and unlocks; the woken side
// records how long the handoff took. Run as: handoff.ts <gsm> <node> <rounds>.
import { Gsm } from '../../runtime/gsm/gsm';
import { monotonicNs } from '../../runtime/gsm/native';
import { GlobalObjects } from '../../runtime/objects/global-objects';

const [gsmName, nodeArg, roundsArg] = process.argv.slice(2);
const node = Number(nodeArg);
const rounds = Number(roundsArg);
const gsm = Gsm.attach(gsmName);
const objects = new GlobalObjects(gsm, { node, incarnation: 1 });
const mutex = await objects.openMutex('handoff');
const shared = (await objects.openSection('handoff-stamp')).map(0, 16);
const latencies: number[] = [];

// Node 1 starts as holder; each handoff alternates the roles.
let holding = node === 1;
if (holding) mutex.lockSync();
shared.add32(8, 1); // ready count
while (shared.load32(8) < 2) {
  // both sides attached
}
for (let i = 0; i < rounds; i++) {
  if (holding) {
    // Wait until the other side is registered as a waiter, then give it time to
    // reach the futex sleep: we measure a wake-up, not a fast-path acquire.
    while (mutex.state().waiterCount === 0) {
      // spin
    }
    const until = monotonicNs() + 200_000;
    while (monotonicNs() < until) {
      // spin
    }
    const taken = shared.load32(12);
    shared.store64n(0, monotonicNs());
    mutex.unlock();
    holding = false;
    // Do not barge: let the woken side take the lock before queueing for it again.
    while (shared.load32(12) === taken) {
      // spin
    }
  } else {
    mutex.lockSync();
    latencies.push(monotonicNs() - shared.load64n(0));
    shared.add32(12, 1);
    holding = true;
  }
}
if (holding) mutex.unlock();
process.stdout.write(JSON.stringify(latencies));
gsm.close();
