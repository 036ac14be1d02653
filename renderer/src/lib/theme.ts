// Light and dark themes: the operator's choice is remembered; until they choose,
// the system's preference decides.
import { ref, watchEffect } from 'vue';

export type Theme = 'light' | 'dark';
const KEY = 'mcs.theme';

function initial(): Theme {
  const saved = window.localStorage.getItem(KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

const theme = ref<Theme>(initial());
watchEffect(() => {
  document.documentElement.dataset.theme = theme.value;
});

export function useTheme() {
  return {
    theme,
    toggle() {
      theme.value = theme.value === 'dark' ? 'light' : 'dark';
      window.localStorage.setItem(KEY, theme.value);
    },
  };
}
