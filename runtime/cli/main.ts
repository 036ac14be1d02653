// Entry point of the mcs command (bin/mcs.js loads it through tsx; `npm start`
// runs it directly).
import { runCli } from './cli';

// `mcs log | head` closes our stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; should a stray handle remain, the shell must not hang on it.
setTimeout(() => process.exit(code), 2000).unref();
