// Desktop host: each node is an Electron utility process (its own OS process,
// sandboxed from the renderer, started by the main process). The only file in
// runtime/ that imports Electron. The desktop app is to pass it to
// startMulticomputer() with the bundled node-main as entry; that wiring (and the
// node-main bundle) lands with the IPC bridge, since it cannot run where the
// Electron binary cannot be downloaded.
import { utilityProcess } from 'electron';
import { lineSplitter, type NodeHost, type NodeProcess } from './host';

export function electronNodeHost(entryJs: string): NodeHost {
  return {
    kind: 'electron',
    spawn(args) {
      const child = utilityProcess.fork(entryJs, args, { stdio: ['ignore', 'ignore', 'pipe'], serviceName: 'MCS node' });
      if (child.pid === undefined) throw new Error('could not start a node utility process');
      const proc: NodeProcess = {
        pid: child.pid,
        onStderr: (listener) => child.stderr?.on('data', lineSplitter(listener)),
        // Utility processes report an exit code only; a signal death shows as a
        // non-zero code, which the supervisor treats as a crash either way.
        onExit: (listener) => child.once('exit', (code) => listener(code, null)),
      };
      return proc;
    },
  };
}
