// The console API's debugger methods over the supervisor's debugger service
// (runtime/debugger): sessions, HPD command lines, the event stream with output
// aggregated per batch, and the state a Debugger view draws.
import { aggregateOutput } from '../debugger/aggregate';
import { CommandError, actionRow, runCommand, threadRows } from '../debugger/commands';
import type { DebuggerService } from '../debugger/service';
import { SetSyntaxError, describeSet, keyOf, parseSet, parseKey } from '../debugger/sets';
import { ControlError, type DebugEvent, type DebugEvents, type DebugReply, type DebugState, type Params } from './api';

const ALL = { items: [{ kind: 'all' as const }] };

export function debugMethods(svc: () => DebuggerService) {
  const session = (id: string) => {
    const s = svc().touch(id);
    if (!s) throw new ControlError('not-found', `no debug session ${id} (it ended, or expired after the client stopped polling)`);
    return s;
  };
  return {
    async debugCommand(p: Params<'debugCommand'>): Promise<DebugReply> {
      const service = svc();
      const s = p.session ? session(p.session) : service.openSession(ALL, '[all]');
      const line = p.line.trim();
      if (line === 'quit' || line === 'detach') {
        service.closeSession(s.id, 'quit');
        return { session: s.id, focus: s.focusText, text: 'session ended', data: null };
      }
      s.busy++;
      try {
        const r = await runCommand(service, s, line);
        return { session: s.id, focus: s.focusText, text: r.text, data: r.data ?? null };
      } catch (e) {
        if (e instanceof CommandError || e instanceof SetSyntaxError) throw new ControlError('bad-request', e.message);
        throw e;
      } finally {
        s.busy--;
        service.touch(s.id);
      }
    },

    async debugEvents(p: Params<'debugEvents'>): Promise<DebugEvents> {
      const service = svc();
      const s = session(p.session);
      const after = p.after ?? service.lastSeq;
      s.busy++;
      try {
        if (p.waitMs) await service.waitUntil(() => service.lastSeq > after, p.waitMs);
      } finally {
        s.busy--;
      }
      session(p.session);
      let filter: Set<string> | null = null;
      if (p.set) {
        try {
          filter = new Set(service.evaluate(parseSet(p.set)).map(keyOf));
        } catch (e) {
          throw new ControlError('bad-request', (e as Error).message);
        }
      }
      const live = service.threads();
      const out: DebugEvent[] = [];
      let run: { seq: number; thread: { node: number; thread: number }; text: string }[] = [];
      const flush = () => {
        for (const g of aggregateOutput(run, live)) out.push({ seq: run[0]!.seq, atMs: Date.now(), kind: 'output', thread: g.set, text: g.value });
        run = [];
      };
      for (const e of service.eventsAfter(after)) {
        if (e.kind === 'output') {
          if (e.thread && (!filter || filter.has(e.thread))) run.push({ seq: e.seq, thread: parseKey(e.thread), text: e.text });
          continue;
        }
        flush();
        out.push(e);
      }
      flush();
      return { events: out, next: Math.max(after, service.lastSeq) };
    },

    debugState(): DebugState {
      const service = svc();
      return {
        threads: threadRows(service),
        frozenNodes: service.frozenNodes(),
        leases: service.leases(),
        sessionLeaseMs: service.sessionLeaseMillis,
        stopModel: service.stopModel,
        sets: [...service.named].map(([name, set]) => {
          let members: string[] = [];
          try {
            members = service.evaluate(set).map(keyOf);
          } catch {
            // a set defined in terms of one since removed: shown empty
          }
          return { name, definition: describeSet(set), members };
        }),
        actions: [...service.actions.values()].map(actionRow),
      };
    },
  };
}
