// Where the console is running. Inside Electron the preload has put the typed
// bridge on `window.mcs`; in a plain browser (the headless server, test/ui) it is
// absent and the console runs in "headless mode".
import type { ConsoleBridge } from '../../main/bridge-types';

declare global {
  interface Window {
    /** Set by main/preload.ts inside Electron; undefined in a plain browser. */
    readonly mcs?: ConsoleBridge;
  }
}

export type Shell =
  | { kind: 'electron'; bridge: ConsoleBridge }
  | { kind: 'headless' };

export function detectShell(w: Window = window): Shell {
  return w.mcs ? { kind: 'electron', bridge: w.mcs } : { kind: 'headless' };
}
