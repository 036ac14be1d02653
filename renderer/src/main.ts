import { createPinia } from 'pinia';
import { createApp } from 'vue';
import { z } from 'zod';
import App from './App.vue';
import { createConsoleRouter } from './router';
import 'uplot/dist/uPlot.min.css';
import './style.css';

// zod compiles validators with new Function() unless told not to; the strict CSP
// forbids that, and each refused attempt would be a console error.
z.config({ jitless: true });

createApp(App).use(createPinia()).use(createConsoleRouter()).mount('#app');
