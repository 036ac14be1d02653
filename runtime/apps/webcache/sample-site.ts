// A generated static site for the Web cache demo and benchmarks. Deterministic
// (a seed gives the same bytes on every machine) so a benchmark's file set is
// reproducible. Sizes follow the heavy tail of real static sites: most files a
// few KiB, some hundreds of KiB, and a few larger than a GSM contribution (they
// must be streamed from disk). A manifest lists every file in rank order, the
// order a Zipf load generator ranks them by.
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { z } from 'zod';

const GENERATOR_VERSION = 2;
const POOL_BYTES = 4 * 1024 * 1024;
export const MANIFEST = 'manifest.json';

export interface SampleSiteOptions {
  seed?: number;
  /** Ordinary files (the large ones come on top). */
  files?: number;
  /** Files larger than this many bytes are made `large` (pass the GSM contribution size). */
  largeBytes?: number;
  /** How many files are larger than `largeBytes`. */
  largeFiles?: number;
}

export const SiteManifest = z.object({
  generator: z.number(),
  options: z.object({ seed: z.number(), files: z.number(), largeBytes: z.number(), largeFiles: z.number() }),
  /** Site-relative paths with their sizes, most popular (Zipf rank 1) first. */
  files: z.array(z.object({ path: z.string(), size: z.number().int().min(0) })),
  totalBytes: z.number(),
});
export type SiteManifest = z.infer<typeof SiteManifest>;

/** mulberry32: a small, fast, well-mixed 32-bit PRNG (enough for reproducible test data). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KINDS = [
  { dir: 'pages', ext: '.html', weight: 4 },
  { dir: 'styles', ext: '.css', weight: 1 },
  { dir: 'scripts', ext: '.js', weight: 2 },
  { dir: 'images', ext: '.png', weight: 4 },
  { dir: 'data', ext: '.json', weight: 1 },
  { dir: 'docs', ext: '.txt', weight: 1 },
];

/** Log-uniform between 512 B and 256 KiB for most files, up to 2 MiB for 5%. */
function ordinarySize(rand: () => number): number {
  const max = rand() < 0.05 ? 2 * 1024 * 1024 : 256 * 1024;
  return Math.round(Math.exp(Math.log(512) + rand() * (Math.log(max) - Math.log(512))));
}

function fill(buf: Buffer, rand: () => number) {
  for (let i = 0; i + 4 <= buf.length; i += 4) buf.writeUInt32LE((rand() * 4294967296) >>> 0, i);
  for (let i = buf.length & ~3; i < buf.length; i++) buf[i] = (rand() * 256) | 0;
}

function readManifest(dir: string): SiteManifest | null {
  try {
    return SiteManifest.parse(JSON.parse(readFileSync(path.join(dir, MANIFEST), 'utf8')));
  } catch {
    return null;
  }
}

/** The manifest of a site directory (written by generateSampleSite), or null if it has none. */
export const siteManifest = readManifest;

/**
 * Makes the sample site in `dir` unless the one there was made with the same
 * options (then nothing is written). Returns its manifest.
 */
export async function generateSampleSite(dir: string, o: SampleSiteOptions = {}): Promise<SiteManifest> {
  const options = { seed: o.seed ?? 1, files: o.files ?? 1500, largeBytes: o.largeBytes ?? 64 * 1024 * 1024, largeFiles: o.largeFiles ?? 2 };
  const existing = readManifest(dir);
  if (existing && existing.generator === GENERATOR_VERSION && JSON.stringify(existing.options) === JSON.stringify(options)) return existing;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rand = prng(options.seed);
  // File bytes are windows of one random pool at random offsets, each file headed by
  // its own path: distinct files, reproducible, and fast to make (1,500 files in a moment).
  const pool = Buffer.allocUnsafe(POOL_BYTES);
  fill(pool, rand);
  const files: { path: string; size: number }[] = [];
  const totalWeight = KINDS.reduce((a, k) => a + k.weight, 0);
  for (let i = 0; i < options.files; i++) {
    let r = rand() * totalWeight;
    const kind = KINDS.find((k) => (r -= k.weight) < 0) ?? KINDS[0];
    const rel = `${kind.dir}/${String(i).padStart(5, '0')}${kind.ext}`;
    const buf = Buffer.allocUnsafe(ordinarySize(rand));
    const offset = Math.floor(rand() * (POOL_BYTES - buf.length));
    pool.copy(buf, 0, offset, offset + buf.length);
    buf.write(`${rel}\n`.slice(0, buf.length), 0, 'latin1');
    mkdirSync(path.join(dir, kind.dir), { recursive: true });
    writeFileSync(path.join(dir, rel), buf);
    files.push({ path: rel, size: buf.length });
  }
  // Large files: a 1 MiB random block per file, each MiB stamped with its index so
  // no two MiB of a file are equal (a misplaced chunk is a detectable corruption).
  mkdirSync(path.join(dir, 'large'), { recursive: true });
  for (let i = 0; i < options.largeFiles; i++) {
    const size = options.largeBytes + 1024 * 1024 + i * 4096 + 17;
    const rel = `large/${String(i).padStart(2, '0')}.bin`;
    const start = Math.floor(rand() * (POOL_BYTES - 1024 * 1024));
    const block = pool.subarray(start, start + 1024 * 1024);
    const out = createWriteStream(path.join(dir, rel));
    for (let off = 0, mib = 0; off < size; off += block.length, mib++) {
      const chunk = Buffer.from(block.subarray(0, Math.min(block.length, size - off)));
      if (chunk.length >= 8) chunk.writeUInt32LE(mib, 0);
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    files.push({ path: rel, size });
  }
  // Rank order: a seeded shuffle, so popularity is independent of size and kind.
  for (let i = files.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [files[i], files[j]] = [files[j], files[i]];
  }
  const links = files.slice(0, 200).map((f) => `<li><a href="/${f.path}">${f.path}</a> (${f.size} bytes)</li>`).join('\n');
  const index = `<!doctype html>\n<html><head><meta charset="utf-8"><title>MCS Web cache sample site</title></head>\n<body><h1>MCS Web cache sample site</h1>\n<p>${files.length} files; the most popular first.</p>\n<ul>\n${links}\n</ul></body></html>\n`;
  writeFileSync(path.join(dir, 'index.html'), index);
  files.unshift({ path: 'index.html', size: Buffer.byteLength(index) });
  const manifest: SiteManifest = { generator: GENERATOR_VERSION, options, files, totalBytes: files.reduce((a, f) => a + f.size, 0) };
  // Written last: a site interrupted while being generated has no manifest and is made again.
  writeFileSync(path.join(dir, MANIFEST), JSON.stringify(manifest));
  return manifest;
}

export const sampleSiteExists = (dir: string) => existsSync(path.join(dir, MANIFEST));
