// The recovery benchmark's load generator, in a process of its own that runs
// at a lower CPU priority (bench/load-process.ts): it stands for the Web
// cache's remote clients, which would not take the survivors' CPU. Commands
// come over IPC: start a load (runLoad's options), stop it early; each load's
// result goes back when it ends.
import { runLoad, type LoadOptions } from '../../runtime/apps/webcache/load';

let stop: AbortController | null = null;

process.on('message', (m: { cmd: 'start'; opts: Omit<LoadOptions, 'signal'> } | { cmd: 'stop' } | { cmd: 'exit' }) => {
  if (m.cmd === 'start') {
    stop = new AbortController();
    runLoad({ ...m.opts, signal: stop.signal }).then(
      (result) => process.send!({ result }),
      (err: Error) => process.send!({ error: err.message }),
    );
  } else if (m.cmd === 'stop') stop?.abort();
  else process.disconnect();
});
process.send!({ ready: true });
