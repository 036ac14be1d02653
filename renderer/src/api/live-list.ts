// An object list (sections, mutexes, …) kept fresh while a view shows it. The
// status subscription says when the multicomputer changed; only then, and only
// for the view on screen, is that one list fetched again. A fetch in flight is
// never doubled: a push that arrives meanwhile asks for one more after it.
import { onBeforeUnmount, onMounted, ref, shallowRef, watch, type Ref, type ShallowRef } from 'vue';
import { useClusterStore } from '../stores/cluster';

export interface LiveList<T> {
  items: ShallowRef<T[]>;
  loading: Ref<boolean>;
  error: Ref<string | null>;
  /** Wall time of the last successful fetch. */
  updatedAtMs: Ref<number>;
  refresh(): Promise<void>;
}

export function useLiveList<T>(fetch: () => Promise<T[]>): LiveList<T> {
  const items = shallowRef<T[]>([]);
  const loading = ref(true);
  const error = ref<string | null>(null);
  const updatedAtMs = ref(0);
  let inFlight: Promise<void> | null = null;
  let again = false;
  let alive = true;

  async function refresh(): Promise<void> {
    if (inFlight) {
      again = true;
      return inFlight;
    }
    inFlight = (async () => {
      try {
        do {
          again = false;
          const next = await fetch();
          if (!alive) return;
          items.value = next;
          error.value = null;
          updatedAtMs.value = Date.now();
        } while (again && alive);
      } catch (e) {
        if (alive) error.value = e instanceof Error ? e.message : String(e);
      } finally {
        loading.value = false;
        inFlight = null;
      }
    })();
    return inFlight;
  }

  const cluster = useClusterStore();
  onMounted(() => void refresh());
  const stopWatch = watch(() => cluster.tick, () => void refresh());
  onBeforeUnmount(() => {
    alive = false;
    stopWatch();
  });
  return { items, loading, error, updatedAtMs, refresh };
}
