#!/usr/bin/env node
// The `mcs` command: registers tsx so Node runs the TypeScript CLI as is, then
// hands over to runtime/cli/main.ts.
import { register } from 'tsx/esm/api';

register();
await import('../runtime/cli/main.ts');
