// Worker threads do not inherit the tsx loader the node process runs with
// (Node 20), so the agent's thread registers it before loading its TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./agent-thread.ts');
