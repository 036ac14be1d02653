// The event log view's data: a window of rows (oldest first) over cursor-paged
// `log` queries, grown backwards as the operator scrolls up, and forwards by the
// live tail (subscribeLog). Rows sit in a plain array that Vue does not make
// deeply reactive: at 200,000 rows a reactive proxy per row would cost more than
// the rendering. `version` tells the view the array changed.
import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef } from 'vue';
import { MAX_LOG_LIMIT, logCursorOf, type LogFilter, type LogRow, type Unsubscribe } from '../../../runtime/control/api';
import { matchesLogFilter } from '../../../runtime/control/api/log-filter';
import { LOG_CSV_HEADER, csvLogLine } from '../../../runtime/control/api/log-csv';
import { connect } from '../api/connect';
import { EMPTY_FORM, toLogFilter, type LogFilterForm } from '../lib/log-filter-form';

/** Older pages, loaded as the operator scrolls up (and for exports): as large as the API allows. */
export const PAGE_ROWS = MAX_LOG_LIMIT;
/**
 * The first page only has to fill the screen (27 rows at 1440×900, 50 on a 1440 px
 * tall one): fewer rows to find, fetch, validate and draw before anything shows. It
 * matters most for a text filter that few rows match, where the query reads the log
 * until the page is full: 60 matches one in a thousand rows after 60,000 rows, 200
 * after all 200,000 of the bench's log. Older pages follow as soon as it is shown.
 */
export const FIRST_PAGE_ROWS = 60;
/** Rows kept for the view; past this the oldest are dropped (a bounded tab, whatever the tail brings). */
export const MAX_ROWS = 500_000;
const SAVED_KEY = 'mcs.log.savedFilters';

export interface SavedFilter {
  name: string;
  form: LogFilterForm;
}

function loadSaved(): SavedFilter[] {
  try {
    const raw = JSON.parse(window.localStorage.getItem(SAVED_KEY) ?? '[]') as unknown;
    return Array.isArray(raw) ? (raw as SavedFilter[]).filter((s) => typeof s?.name === 'string' && typeof s?.form === 'object') : [];
  } catch {
    return [];
  }
}

export const useLogStore = defineStore('log', () => {
  const form = ref<LogFilterForm>({ ...EMPTY_FORM });
  const applied = shallowRef<LogFilter>({});
  const formProblem = ref<string | null>(null);
  let rows: LogRow[] = markRaw([]);
  const version = ref(0);
  const count = ref(0);
  const olderCursor = ref<string | null>(null);
  const loading = ref(false);
  const loadingOlder = ref(false);
  const error = ref<string | null>(null);
  /** Following the newest rows (the view keeps the bottom in sight). */
  const following = ref(true);
  /** Rows the tail appended since the operator stopped following. */
  const unseen = ref(0);
  const tailLive = ref(false);
  const saved = ref<SavedFilter[]>(loadSaved());
  /** Query generation: answers to a superseded filter are dropped. */
  let epoch = 0;
  let unsubscribe: Unsubscribe | null = null;

  const api = () => connect().api;

  function setRows(next: LogRow[]): void {
    rows = markRaw(next);
    count.value = rows.length;
    version.value++;
  }

  function all(): readonly LogRow[] {
    return rows;
  }

  function appendTail(batch: LogRow[], myEpoch: number): void {
    if (myEpoch !== epoch || batch.length === 0) return;
    const lastId = rows.length > 0 ? rows[rows.length - 1]!.id : -1;
    const fresh = batch.filter((r) => r.id > lastId && matchesLogFilter(r, applied.value));
    if (fresh.length === 0) return;
    for (const r of fresh) rows.push(r);
    if (rows.length > MAX_ROWS) {
      rows.splice(0, rows.length - MAX_ROWS);
      olderCursor.value = null;
    }
    count.value = rows.length;
    version.value++;
    if (!following.value) unseen.value += fresh.length;
  }

  /** Runs the current form: newest page first, then the live tail from where it ends. */
  async function apply(): Promise<void> {
    const parsed = toLogFilter(form.value);
    if ('problem' in parsed) {
      formProblem.value = parsed.problem.message;
      return;
    }
    formProblem.value = null;
    const myEpoch = ++epoch;
    unsubscribe?.();
    unsubscribe = null;
    tailLive.value = false;
    applied.value = parsed.filter;
    loading.value = true;
    error.value = null;
    unseen.value = 0;
    following.value = true;
    // Subscribe first and hold what it pushes until the page is in: a row logged
    // between the query and the subscription is then neither lost nor doubled.
    const early: LogRow[] = [];
    let pageIn = false;
    try {
      unsubscribe = api().subscribeLog(
        parsed.filter,
        (batch) => (pageIn ? appendTail(batch, myEpoch) : early.push(...batch)),
        {
          onReady: () => {
            if (myEpoch === epoch) tailLive.value = true;
          },
          onError: (e) => {
            if (myEpoch === epoch) {
              tailLive.value = false;
              error.value = `live tail stopped: ${e.message}`;
            }
          },
        },
      );
      const page = await api().log({ filter: parsed.filter, limit: FIRST_PAGE_ROWS });
      if (myEpoch !== epoch) return;
      setRows(page.rows.slice());
      olderCursor.value = page.next;
      pageIn = true;
      appendTail(early, myEpoch);
    } catch (e) {
      if (myEpoch === epoch) error.value = e instanceof Error ? e.message : String(e);
    } finally {
      if (myEpoch === epoch) loading.value = false;
    }
  }

  /** Loads the page before the oldest row held; resolves with how many rows were added at the front. */
  async function loadOlder(): Promise<number> {
    const cursor = olderCursor.value;
    if (!cursor || loadingOlder.value) return 0;
    const myEpoch = epoch;
    loadingOlder.value = true;
    try {
      const page = await api().log({ filter: applied.value, before: cursor, limit: PAGE_ROWS });
      if (myEpoch !== epoch) return 0;
      olderCursor.value = page.next;
      if (page.rows.length === 0) return 0;
      setRows(page.rows.concat(rows));
      return page.rows.length;
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
      return 0;
    } finally {
      loadingOlder.value = false;
    }
  }

  function follow(on: boolean): void {
    following.value = on;
    if (on) unseen.value = 0;
  }

  function stop(): void {
    epoch++;
    unsubscribe?.();
    unsubscribe = null;
    tailLive.value = false;
  }

  /** Rows around one event, whatever the filter: what happened just before and after it. */
  async function context(row: LogRow, each = 10): Promise<LogRow[]> {
    const cursor = logCursorOf(row.id);
    const [before, after] = await Promise.all([
      api().log({ filter: {}, before: cursor, limit: each }),
      api().log({ filter: {}, after: cursor, limit: each }),
    ]);
    return [...before.rows, row, ...after.rows];
  }

  /** Every row matching the applied filter, oldest first, in the chosen format. */
  async function exportAll(format: 'json' | 'csv'): Promise<{ text: string; rows: number }> {
    const filter = applied.value;
    const parts: string[] = [];
    let n = 0;
    let page = await api().log({ filter, fromStart: true, limit: PAGE_ROWS });
    for (;;) {
      for (const r of page.rows) {
        parts.push(format === 'json' ? JSON.stringify(r) : csvLogLine({ ...r, detailsJson: JSON.stringify(r.details ?? null) }));
        n++;
      }
      if (!page.next) break;
      page = await api().log({ filter, after: page.next, limit: PAGE_ROWS });
    }
    const text = format === 'json' ? `[\n${parts.join(',\n')}\n]\n` : LOG_CSV_HEADER + parts.join('');
    return { text, rows: n };
  }

  function persistSaved(): void {
    window.localStorage.setItem(SAVED_KEY, JSON.stringify(saved.value));
  }
  function saveFilter(name: string): void {
    const trimmed = name.trim();
    if (!trimmed) return;
    saved.value = [...saved.value.filter((s) => s.name !== trimmed), { name: trimmed, form: { ...form.value } }];
    persistSaved();
  }
  function deleteFilter(name: string): void {
    saved.value = saved.value.filter((s) => s.name !== name);
    persistSaved();
  }
  function useSaved(name: string): Promise<void> {
    const s = saved.value.find((x) => x.name === name);
    if (s) form.value = { ...EMPTY_FORM, ...s.form };
    return apply();
  }

  const filterActive = computed(() => Object.keys(applied.value).length > 0);

  return {
    form, applied, formProblem, version, count, olderCursor, loading, loadingOlder, error, following, unseen, tailLive,
    saved, filterActive, all, apply, loadOlder, follow, stop, context, exportAll, saveFilter, deleteFilter, useSaved,
    /** For tests: append a batch as the tail would. */
    _appendTail: (batch: LogRow[]) => appendTail(batch, epoch),
  };
});
