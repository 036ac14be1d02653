// Bundles the debug agent (agent-thread.ts and what it imports, zod included)
// into one plain ES module, once per multicomputer, with esbuild (the engine tsx
// runs on). Worker threads do not inherit the node's TypeScript loader, and
// registering it again in every node's agent thread costs seconds of CPU on a
// loaded machine; one pre-built file costs a parse.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function bundleAgent(outFile: string): Promise<boolean> {
  try {
    const { build } = await import('esbuild');
    const r = await build({
      entryPoints: [fileURLToPath(new URL('./agent-thread.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    writeFileSync(outFile, r.outputFiles[0]!.contents, { mode: 0o600 });
    return true;
  } catch {
    // Nodes fall back to loading the TypeScript through tsx (agent-entry.mjs).
    return false;
  }
}
