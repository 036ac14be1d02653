// Membership generations in GSM. The supervisor is the single writer: it appends
// each new generation to a history ring in the GSM header, then bumps the current
// generation word and wakes every node waiting on it. Nodes install generations
// strictly in order from the history, so every survivor installs the same
// ordered sequence, even one that woke late.
import type { Gsm } from '../gsm/gsm';
import { GENERATION_ENTRY_BYTES, GENERATION_HISTORY, H, N, nodeRecord } from '../gsm/layout';
import { monotonicNs } from '../gsm/native';

export interface GenerationEntry {
  generation: number;
  members: number[];
  atMs: number;
}

export const maskOf = (members: number[]) => members.reduce((m, n) => (m | (1 << n)) >>> 0, 0);
export const membersOf = (mask: number) => Array.from({ length: 32 }, (_, i) => i).filter((i) => (mask >>> i) & 1);

const entryAt = (generation: number) => H.generationHistory + (generation % GENERATION_HISTORY) * GENERATION_ENTRY_BYTES;

export function currentGeneration(gsm: Gsm): number {
  return gsm.map.load32(H.generation);
}

/** Supervisor side: publish generation `generation` with `members`. */
export function publishGeneration(gsm: Gsm, generation: number, members: number[]): void {
  const m = gsm.map;
  const at = entryAt(generation);
  const mask = maskOf(members);
  m.store32(at + 4, mask);
  m.store64n(at + 8, Date.now());
  m.store32(at, generation);
  m.store32(H.memberMask, mask);
  m.store32(H.generation, generation);
  m.wake32(H.generation, 2 ** 31 - 1);
}

/** The history entry for `generation`, or null if it has been overwritten. */
export function readGeneration(gsm: Gsm, generation: number): GenerationEntry | null {
  const m = gsm.map;
  const at = entryAt(generation);
  if (m.load32(at) !== generation) return null;
  return { generation, members: membersOf(m.load32(at + 4)), atMs: m.load64n(at + 8) };
}

/**
 * Node side: waits for new generations and installs each in order, calling
 * `onInstall` for each (missing history is reported with members = null).
 * Runs until `signal` aborts.
 */
export async function followGenerations(
  gsm: Gsm,
  node: number,
  onInstall: (generation: number, entry: GenerationEntry | null) => void,
  signal: AbortSignal,
): Promise<void> {
  const rec = nodeRecord(gsm.layout, node);
  let installed = currentGeneration(gsm);
  gsm.map.store32(rec + N.installedGeneration, installed);
  gsm.map.store64n(rec + N.installedAtNs, monotonicNs());
  while (!signal.aborted) {
    const now = currentGeneration(gsm);
    if (now === installed) {
      // Bounded waits so an abort is noticed; a wake arrives at once on publish.
      await gsm.map.wait32Async(H.generation, installed, 1000);
      continue;
    }
    for (let g = installed + 1; g <= now; g++) {
      onInstall(g, readGeneration(gsm, g));
      installed = g;
    }
    gsm.map.store64n(rec + N.installedAtNs, monotonicNs());
    gsm.map.store32(rec + N.installedGeneration, installed);
  }
}
