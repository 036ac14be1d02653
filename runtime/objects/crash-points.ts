// Injected kill points for crash tests (issue: the namespace must survive a kill
// at every step). A process started with MCS_CRASH_AT=<label> SIGKILLs itself when
// it reaches that label, between two stores it would otherwise never stop between.
// Unset (always, outside tests), a crash point costs one comparison.
const crashAt = process.env.MCS_CRASH_AT ?? null;

export function crashPoint(label: string): void {
  if (crashAt === null || crashAt !== label) return;
  process.kill(process.pid, 'SIGKILL');
  for (;;) {
    // SIGKILL to ourselves is delivered before this loop can do anything
  }
}

const failAt = process.env.MCS_FAIL_AT ?? null;

/** A process started with MCS_FAIL_AT=<label> throws there: a step that fails without dying. */
export function failPoint(label: string): void {
  if (failAt !== null && failAt === label) throw new Error(`injected failure at ${label}`);
}
