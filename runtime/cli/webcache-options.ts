// The Web cache's flags of `mcs up`: --cache-mode, --site, --cache-mb, --http-port.
// They become the app config "webcache" every node receives, checked here with
// the app's own schema so a bad value fails before any node starts. Without
// --site, the generated sample site in the state directory is served.
import path from 'node:path';
import { CACHE_MODES, WebcacheConfig } from '../apps/webcache/config';
import { availableModes } from '../apps/webcache/modes';
import { generateSampleSite } from '../apps/webcache/sample-site';
import type { FlagSpec, ParsedArgs } from './args';
import { integerFlag, stringFlag, UsageError } from './args';

export const WEBCACHE_APP = 'webcache';
export const DEFAULT_CACHE_MB = 16;

export const webcacheFlags: FlagSpec[] = [
  { name: 'cache-mode', kind: 'string', value: 'MODE', help: `Web cache mode: ${CACHE_MODES.join(' | ')} (default global when available)` },
  { name: 'site', kind: 'string', value: 'DIR', help: 'directory the Web cache serves (default: a generated sample site in the state dir)' },
  { name: 'cache-mb', kind: 'string', value: 'N', help: `Web cache memory per node in MiB (default ${DEFAULT_CACHE_MB})` },
  { name: 'http-port', kind: 'string', value: 'P', help: 'node N serves HTTP on port P+N (default: free ports, shown by mcs status)' },
];

/** The sample site's directory in a state dir. */
export const sampleSiteDir = (stateDir: string) => path.join(stateDir, 'site');

/**
 * The webcache app config for these flags, or undefined if the app is not run.
 * `note` receives what the user should know (the mode chosen, the site generated).
 */
export async function webcacheConfig(
  args: ParsedArgs,
  opts: { apps: string[]; stateDir: string; gsmMb: number; cwd: string; note(text: string): void },
): Promise<WebcacheConfig | undefined> {
  const given = webcacheFlags.filter((f) => args.flags.has(f.name)).map((f) => `--${f.name}`);
  if (!opts.apps.includes(WEBCACHE_APP)) {
    if (given.length) throw new UsageError(`${given.join(', ')} only apply with --app ${WEBCACHE_APP}`);
    return undefined;
  }
  const available = availableModes();
  let mode = stringFlag(args, 'cache-mode');
  if (mode === undefined) {
    mode = available.includes('global') ? 'global' : available[0];
    if (mode !== 'global') opts.note(`webcache: the global cache mode is not available yet; running ${mode}`);
  }
  const cacheMb = integerFlag(args, 'cache-mb', { min: 1, max: 4096 }) ?? DEFAULT_CACHE_MB;
  if (mode === 'global' && cacheMb >= opts.gsmMb)
    throw new UsageError(`--cache-mb ${cacheMb} does not fit in a ${opts.gsmMb} MiB GSM contribution (raise --gsm-mb)`);
  let site = stringFlag(args, 'site');
  if (site === undefined) {
    site = sampleSiteDir(opts.stateDir);
    const m = await generateSampleSite(site, { largeBytes: opts.gsmMb * 1024 * 1024 });
    opts.note(`webcache: serving the sample site ${site} (${m.files.length} files, ${Math.round(m.totalBytes / 1048576)} MiB)`);
  }
  const parsed = WebcacheConfig.safeParse({ mode, site: path.resolve(opts.cwd, site), cacheMb, basePort: integerFlag(args, 'http-port', { min: 1, max: 65535 - 16 }) ?? 0 });
  if (!parsed.success) throw new UsageError(`webcache: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  if (!available.includes(parsed.data.mode))
    throw new UsageError(`--cache-mode ${parsed.data.mode} is not available yet (available: ${available.join(', ')})`);
  return parsed.data;
}
