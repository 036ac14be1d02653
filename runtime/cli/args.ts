// Command-line parsing for mcs: flags may come anywhere (`--flag value`,
// `--flag=value`), `--` ends them, and anything not declared is an error that
// names it. Values are typed by the helpers below, whose errors name the flag.
import { isObjectId, isObjectName } from '../control/api';

/** Bad input from the user: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  name: string;
  short?: string;
  /** boolean: present or not; string: one value (last wins); list: repeatable, and comma-separated values split. */
  kind: 'boolean' | 'string' | 'list';
  /** Placeholder in help, e.g. N. */
  value?: string;
  help: string;
}

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true | string[]>;
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], where: string): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const positionals: string[] = [];
  const flags = new Map<string, string | true | string[]>();
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (onlyPositionals || arg === '-' || !arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      onlyPositionals = true;
      continue;
    }
    let spec: FlagSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      spec = byName.get(name);
      if (!spec) throw new UsageError(`unknown flag --${name} for ${where}`);
    } else {
      spec = byShort.get(arg.slice(1));
      if (!spec) {
        // "-5" is a value, not a flag, when a flag is expected to be followed by a number.
        if (/^-\d/.test(arg)) throw new UsageError(`unexpected '${arg}' for ${where} (negative numbers are not accepted)`);
        throw new UsageError(`unknown flag ${arg} for ${where}`);
      }
    }
    if (spec.kind === 'boolean') {
      if (inline !== undefined) throw new UsageError(`--${spec.name} takes no value`);
      flags.set(spec.name, true);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`--${spec.name} needs a value (${spec.value ?? 'VALUE'})`);
      value = argv[++i]!;
    }
    if (spec.kind === 'string') {
      flags.set(spec.name, value);
    } else {
      const list = (flags.get(spec.name) as string[] | undefined) ?? [];
      list.push(...value.split(',').filter((v) => v !== ''));
      flags.set(spec.name, list);
    }
  }
  return { positionals, flags };
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function boolFlag(args: ParsedArgs, name: string): boolean {
  return args.flags.get(name) === true;
}

export function listFlag(args: ParsedArgs, name: string): string[] | undefined {
  const v = args.flags.get(name);
  return Array.isArray(v) ? v : undefined;
}

/** A decimal integer, or hex with 0x, within [min, max]; `what` names the flag or argument in errors. */
export function parseInteger(text: string, what: string, { min = 0, max = Number.MAX_SAFE_INTEGER, hex = false } = {}): number {
  const ok = hex ? /^(?:\d+|0x[0-9a-fA-F]+)$/.test(text) : /^\d+$/.test(text);
  const n = ok ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new UsageError(`${what}: expected ${hex ? 'an integer (decimal or 0x hex)' : 'an integer'}, got '${text}'`);
  }
  if (n < min || n > max) throw new UsageError(`${what}: ${n} is out of range (${min} to ${max})`);
  return n;
}

export function integerFlag(args: ParsedArgs, name: string, opts: { min?: number; max?: number; hex?: boolean } = {}): number | undefined {
  const v = stringFlag(args, name);
  return v === undefined ? undefined : parseInteger(v, `--${name}`, opts);
}

export function parseNode(text: string, what = 'node'): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${what}: expected a node number, got '${text}'`);
  return parseInteger(text, what, { max: 65535 });
}

export function parseObjectArg(text: string, what = 'NAME|ID'): string {
  if (isObjectId(text) || isObjectName(text)) return text;
  throw new UsageError(
    `${what}: '${text}' is neither an object id like 12.3 nor a name (a letter, then letters, digits or _ . : / -, at most 47 bytes)`,
  );
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "10m" → now - 10 min; "2026-11-21T12:00:00Z" → that instant; for --since/--until. */
export function parseTimeArg(text: string, what: string, nowMs = Date.now()): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
  if (m) return nowMs - Number(m[1]) * DURATION_UNITS[m[2]!]!;
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(text);
    if (!Number.isNaN(t)) return t;
  }
  throw new UsageError(`${what}: expected a duration like 30s, 10m, 2h, 1d or an ISO time like 2026-11-21T12:00:00Z, got '${text}'`);
}
