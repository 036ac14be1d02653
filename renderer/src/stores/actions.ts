// Every modification the console makes goes through run(): a method the API
// marks destructive is confirmed first (optionally by typing a word, for the
// ones that cannot be undone, like force-releasing a mutex), and every outcome
// is reported in one place. The backend logs the operator action itself.
import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import { methods, type MethodName, type Params, type Result } from '../../../runtime/control/api';
import { connect } from '../api/connect';

export interface ConfirmRequest {
  title: string;
  message: string;
  /** The API method: its summary is shown, so the operator knows what will happen. */
  method: MethodName;
  /** When set, the operator must type this exactly before the action runs. */
  typed?: string;
  confirmLabel: string;
  resolve: (ok: boolean) => void;
}

export interface Notice {
  id: number;
  kind: 'ok' | 'error';
  text: string;
}

export const useActionsStore = defineStore('actions', () => {
  const pending = shallowRef<ConfirmRequest | null>(null);
  const notices = ref<Notice[]>([]);
  let noticeId = 0;

  function notify(kind: Notice['kind'], text: string): void {
    const id = ++noticeId;
    notices.value = [...notices.value.slice(-4), { id, kind, text }];
    setTimeout(() => (notices.value = notices.value.filter((n) => n.id !== id)), kind === 'error' ? 8000 : 4000);
  }

  function confirm(req: Omit<ConfirmRequest, 'resolve'>): Promise<boolean> {
    pending.value?.resolve(false);
    return new Promise((resolve) => {
      pending.value = { ...req, resolve };
    });
  }

  function answer(ok: boolean): void {
    const p = pending.value;
    pending.value = null;
    p?.resolve(ok);
  }

  /**
   * Calls an API method; if the API marks it destructive, only after the operator
   * confirmed. Resolves with the result, or null if declined or failed (the
   * failure is shown as a notice).
   */
  async function run<M extends MethodName>(
    method: M,
    params: Params<M>,
    opts: { title: string; message: string; typed?: string; confirmLabel?: string; done?: string },
  ): Promise<Result<M> | null> {
    if (methods[method].destructive) {
      const ok = await confirm({
        title: opts.title,
        message: opts.message,
        method,
        typed: opts.typed,
        confirmLabel: opts.confirmLabel ?? opts.title,
      });
      if (!ok) return null;
    }
    try {
      const fn = connect().api[method] as unknown as (p: Params<M>) => Promise<Result<M>>;
      const result = await fn(params);
      notify('ok', opts.done ?? `${opts.title}: done`);
      return result;
    } catch (e) {
      notify('error', `${opts.title} failed: ${e instanceof Error ? e.message : String(e)}`);
      return null;
    }
  }

  return { pending, notices, notify, confirm, answer, run };
});
