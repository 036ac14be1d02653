// Which URLs are "the console's own page". Used by the main process to refuse
// navigation away from the app and to refuse IPC from any other frame (an
// iframe or a page reached by a bug must not get the console API). Kept free of
// Electron so test/ui can check it under plain Node.

/** Where the renderer is loaded from. */
export type AppEntry =
  /** A built renderer: out/renderer/index.html, as a file: URL. */
  | { kind: 'file'; url: string }
  /** `electron-vite dev`: Vite's dev server (ELECTRON_RENDERER_URL). */
  | { kind: 'dev-server'; url: string };

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * True when `url` is the console page itself. For a file entry only the exact
 * index.html counts (any other file: URL would be a way to read the disk); the
 * fragment and query are ignored because the renderer keeps its view in the hash.
 */
export function isAppUrl(entry: AppEntry, url: string): boolean {
  const candidate = parse(url);
  const own = parse(entry.url);
  if (!candidate || !own) return false;
  if (entry.kind === 'file') {
    return candidate.protocol === 'file:' && own.protocol === 'file:' && candidate.pathname === own.pathname &&
      candidate.host === own.host;
  }
  return candidate.origin !== 'null' && candidate.origin === own.origin;
}
