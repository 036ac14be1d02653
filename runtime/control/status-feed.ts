// Turns a backend's raw change notifications into the status feed the console
// promises: a snapshot at once, then at most one push per 250 ms however fast the
// multicomputer changes (a membership storm must not flood a renderer), and at
// least one per second however quiet it is (heartbeat ages keep moving). A change
// an operator waits to see (a node's state or incarnation, the generation) goes
// out 50 ms after the previous push at the latest: a killed node shows as failed
// as soon as the supervisor knows, not a coalescing window later.
import { ControlError, StatusUpdate, describeIssues, parseResult, type ControlBackend, type Unsubscribe } from './api';

export interface StatusFeedOptions {
  minIntervalMs?: number;
  maxIntervalMs?: number;
  /** Least time between two pushes of state changes (see above). */
  urgentIntervalMs?: number;
}

/** What an operator watches change: the generation and each node's state and incarnation. */
const shapeOf = (u: StatusUpdate) => `${u.status.generation}|${u.nodes.map((n) => `${n.id}:${n.state}:${n.incarnation}`).join(',')}`;

export function subscribeStatusFeed(
  backend: ControlBackend,
  push: (update: StatusUpdate) => void,
  onError: (e: ControlError) => void = () => {},
  { minIntervalMs = 250, maxIntervalMs = 1000, urgentIntervalMs = 50 }: StatusFeedOptions = {},
): Unsubscribe {
  let closed = false;
  let lastPushAt = -Infinity;
  let lastShape = '';
  let pending: StatusUpdate | null = null;
  let flushTimer: ReturnType<typeof setTimeout> | null = null;
  let flushDueAt = 0;
  let quietTimer: ReturnType<typeof setTimeout> | null = null;
  let polling = false;
  /** Counts backend pushes, so a poll that a push overtook does not overwrite it with older state. */
  let pushes = 0;

  const send = (update: StatusUpdate) => {
    if (closed) return;
    lastPushAt = Date.now();
    lastShape = shapeOf(update);
    pending = null;
    armQuietTimer();
    push(update);
  };

  const offer = (update: StatusUpdate) => {
    if (closed) return;
    const now = Date.now();
    const dueAt = lastPushAt + (shapeOf(update) !== lastShape ? urgentIntervalMs : minIntervalMs);
    if (flushTimer && dueAt < flushDueAt) {
      clearTimeout(flushTimer);
      flushTimer = null;
    }
    if (dueAt <= now && !flushTimer) return send(update);
    pending = update; // the newest snapshot wins; intermediate ones are stale anyway
    if (!flushTimer) {
      flushDueAt = dueAt;
      flushTimer = setTimeout(() => {
        flushTimer = null;
        if (pending) send(pending);
      }, Math.max(0, dueAt - now));
    }
  };

  const poll = async () => {
    if (polling || closed) return;
    polling = true;
    const pushesBefore = pushes;
    try {
      const [status, nodes] = await Promise.all([backend.status({}), backend.nodes({})]);
      if (pushes !== pushesBefore) return armQuietTimer();
      offer({ status: parseResult('status', status, 'the backend'), nodes: parseResult('nodes', nodes, 'the backend') });
    } catch (e) {
      if (!closed) onError(ControlError.from(e));
      armQuietTimer();
    } finally {
      polling = false;
    }
  };

  function armQuietTimer() {
    if (quietTimer) clearTimeout(quietTimer);
    if (closed) return;
    quietTimer = setTimeout(() => void poll(), maxIntervalMs);
  }

  const unsubscribeBackend = backend.subscribeStatus((update) => {
    pushes++;
    const r = StatusUpdate.safeParse(update);
    if (r.success) offer(r.data);
    else onError(new ControlError('internal', `the backend pushed an invalid status update: ${describeIssues(r.error, 'update')}`));
  });
  void poll();
  return () => {
    closed = true;
    if (flushTimer) clearTimeout(flushTimer);
    if (quietTimer) clearTimeout(quietTimer);
    unsubscribeBackend();
  };
}
