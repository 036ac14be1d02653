// Component and store tests of the renderer (test/renderer/**/*.spec.ts), in
// happy-dom. `npm test` runs them after the Node test runner's files.
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [vue()],
  test: {
    environment: 'happy-dom',
    include: ['test/renderer/**/*.spec.ts'],
    restoreMocks: true,
  },
});
