// The node entry of the desktop bundle (out/main/node-entry.js), run by each
// node's Electron utility process (runtime/nodes/host-electron.ts). It is
// runtime/nodes/node-main.ts itself, bundled with the kit's apps
// (main/bundled-apps.ts replaces runtime/nodes/kit-apps.ts at build time).
import '../runtime/nodes/node-main';
