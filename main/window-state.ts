// Remembers where the console window was: <userData>/window-state.json, written
// when the window closes and read (validated) when it opens. A file that is
// missing, unreadable, malformed or describes a window off every display is
// ignored: the window then opens at its default size, centred.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const WINDOW_STATE_FILE = 'window-state.json';
export const DEFAULT_SIZE = { width: 1280, height: 800 };
export const MIN_SIZE = { width: 1024, height: 640 };

const WindowState = z.strictObject({
  x: z.number().int().min(-100_000).max(100_000),
  y: z.number().int().min(-100_000).max(100_000),
  width: z.number().int().min(MIN_SIZE.width).max(100_000),
  height: z.number().int().min(MIN_SIZE.height).max(100_000),
  maximized: z.boolean(),
});
export type WindowState = z.infer<typeof WindowState>;

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The saved state if it is valid and at least 100×50 px of the title area lies on a display. */
export function loadWindowState(userData: string, workAreas: readonly Rect[]): WindowState | null {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path.join(userData, WINDOW_STATE_FILE), 'utf8'));
  } catch {
    return null;
  }
  const r = WindowState.safeParse(raw);
  if (!r.success) return null;
  const s = r.data;
  const visible = workAreas.some((a) => {
    const w = Math.min(s.x + s.width, a.x + a.width) - Math.max(s.x, a.x);
    const h = Math.min(s.y + 50, a.y + a.height) - Math.max(s.y, a.y);
    return w >= 100 && h >= 50;
  });
  return visible ? s : null;
}

export function saveWindowState(userData: string, state: WindowState): void {
  const file = path.join(userData, WINDOW_STATE_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(WindowState.parse(state)) + '\n', { mode: 0o600 });
    renameSync(tmp, file);
  } catch (e) {
    // Losing the window position is not worth failing a quit over.
    console.warn(`mcs console: could not save the window position: ${(e as Error).message}`);
  }
}
