// The freeze clock: how long some node of the multicomputer has been frozen by
// the debugger (paper §5.3: debugging one node must not make the others act as if
// it had failed). The debugger service starts and stops it; anything that times a
// wait on another node (a global mutex or event with a timeout, an SDK deadline)
// measures "unfrozen time" with it, so a wait on a lock that a frozen thread holds
// does not time out because of the freeze, while a wait that is slow for any other
// reason still does.
//
// Header fields (layout.ts H): frozenNodeMask, freezeEpoch, frozenSinceNs (start of
// the current interval during which at least one node is frozen, 0 if none) and
// frozenTotalNs (the sum of the finished intervals). Only the supervisor's debugger
// service writes them, from one thread; readers take a consistent view by retrying
// while the epoch moves.
import { H } from './layout';
import { monotonicNs, type Mapping } from './native';

type Clock = Pick<Mapping, 'load32' | 'load64n'>;

/** Total ns during which at least one node was frozen, up to `nowNs`. */
export function frozenNs(map: Clock, nowNs = monotonicNs()): number {
  for (;;) {
    const epoch = map.load32(H.freezeEpoch);
    if (epoch & 1) continue;
    const since = map.load64n(H.frozenSinceNs);
    const total = map.load64n(H.frozenTotalNs);
    if (map.load32(H.freezeEpoch) !== epoch) continue;
    return total + (since > 0 && nowNs > since ? nowNs - since : 0);
  }
}

export function anyNodeFrozen(map: Clock): boolean {
  return map.load32(H.frozenNodeMask) !== 0;
}

/**
 * A deadline that stands still while any node is frozen: `remainingMs()` is the
 * timeout less the unfrozen time elapsed since it was made.
 */
export function freezeAwareDeadline(map: Clock, timeoutMs: number): { remainingMs(): number } {
  const t0 = monotonicNs();
  const f0 = frozenNs(map, t0);
  return {
    remainingMs() {
      if (!Number.isFinite(timeoutMs)) return Infinity;
      const now = monotonicNs();
      const unfrozen = now - t0 - (frozenNs(map, now) - f0);
      return timeoutMs - unfrozen / 1e6;
    },
  };
}

/** Marks `node` frozen or thawed; only the debugger service calls this. */
export function setNodeFrozen(map: Mapping, node: number, frozen: boolean, nowNs = monotonicNs()): void {
  const mask = map.load32(H.frozenNodeMask);
  const next = frozen ? mask | (1 << node) : mask & ~(1 << node);
  if (next === mask) return;
  map.add32(H.freezeEpoch, 1);
  if (mask === 0 && next !== 0) map.store64n(H.frozenSinceNs, nowNs);
  if (mask !== 0 && next === 0) {
    const since = map.load64n(H.frozenSinceNs);
    map.store64n(H.frozenTotalNs, map.load64n(H.frozenTotalNs) + Math.max(0, nowNs - since));
    map.store64n(H.frozenSinceNs, 0);
  }
  map.store32(H.frozenNodeMask, next >>> 0);
  map.add32(H.freezeEpoch, 1);
}
