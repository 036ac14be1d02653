// The mcs command: global flags, command lookup, help, and the one place errors
// become output — a single "mcs: <problem>" line on stderr, exit code 2 for bad
// usage and 1 for a runtime failure, never a stack trace (MCS_DEBUG=1 shows it).
import { ControlError } from '../control/api';
import { resolveStateDir } from '../control/state-dir';
import { boolFlag, parseArgs, stringFlag, UsageError, type FlagSpec } from './args';
import { tableCommands } from './commands';
import { consoleCommand } from './console-command';
import { Cancelled, Context, type CliIO, type Command } from './context';
import { loadCommand } from './load-command';
import { debugCommand } from './debug-command';
import { logCommand } from './log-command';
import { decodeSectionCommand, dumpSectionCommand } from './section-command';
import { downCommand, upCommand } from './up';

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'cluster', kind: 'string', value: 'NAME', help: "which multicomputer (default: $MCS_CLUSTER, else 'default'); state in $MCS_HOME/NAME" },
  { name: 'json', kind: 'boolean', help: 'print the result as JSON' },
  { name: 'yes', short: 'y', kind: 'boolean', help: 'do not ask before destructive commands (required without a terminal)' },
  { name: 'help', short: 'h', kind: 'boolean', help: 'show help (mcs help COMMAND for one command)' },
];

export const commands: Command[] = [
  ...tableCommands.filter((c) => c.group === 'status'),
  logCommand,
  dumpSectionCommand,
  decodeSectionCommand,
  loadCommand,
  debugCommand,
  ...tableCommands.filter((c) => c.group === 'modify'),
  upCommand,
  consoleCommand,
  downCommand,
];

const byName = new Map(commands.map((c) => [c.name, c]));

const GROUP_TITLES: Record<Command['group'], string> = {
  status: 'Status',
  modify: 'Modification (destructive ones ask first; --yes skips the question)',
  lifecycle: 'Lifecycle',
};

export function helpText(): string {
  const lines = ['mcs: status and control of an MCS multicomputer', '', 'Usage: mcs [--cluster NAME] [--json] [--yes] COMMAND [ARGS]', ''];
  // Long usages get a line of their own rather than pushing every summary to the right.
  const width = Math.min(30, Math.max(...commands.map((c) => `${c.name} ${c.usage}`.trim().length)));
  for (const group of ['status', 'modify', 'lifecycle'] as const) {
    lines.push(`${GROUP_TITLES[group]}:`);
    for (const c of commands.filter((x) => x.group === group)) {
      const head = `${c.name} ${c.usage}`.trim();
      if (head.length > width) lines.push(`  ${head}`, `  ${''.padEnd(width)}  ${c.summary}`);
      else lines.push(`  ${head.padEnd(width)}  ${c.summary}`);
    }
    lines.push('');
  }
  lines.push('Global flags:');
  lines.push(...flagLines(GLOBAL_FLAGS));
  lines.push('', 'Environment: MCS_HOME (default ~/.mcs), MCS_CLUSTER. Exit status: 0 ok, 1 failure, 2 bad usage.');
  return lines.join('\n') + '\n';
}

function flagLines(flags: readonly FlagSpec[]): string[] {
  const heads = flags.map((f) => `${f.short ? `-${f.short}, ` : ''}--${f.name}${f.value ? ` ${f.value}` : ''}`);
  const width = Math.max(...heads.map((h) => h.length));
  return flags.map((f, i) => `  ${heads[i]!.padEnd(width)}  ${f.help}`);
}

export function commandHelp(c: Command): string {
  const lines = [`Usage: mcs ${c.name} ${c.usage}`.trimEnd(), '', c.summary];
  if (c.flags?.length) lines.push('', 'Flags:', ...flagLines(c.flags));
  return lines.join('\n') + '\n';
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

function unknownCommand(name: string): UsageError {
  const close = commands.map((c) => c.name).filter((c) => distance(c, name) <= 2 || c.startsWith(name));
  const hint = close.length ? `; did you mean ${close.slice(0, 3).join(' or ')}?` : '';
  return new UsageError(`unknown command '${name}' (mcs help lists them)${hint}`);
}

/** The command name is the first word that is neither a flag nor the value of --cluster. */
function splitCommand(argv: readonly string[]): { name: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return { name: argv[i + 1], rest: [...argv.slice(0, i), ...argv.slice(i + 2)] };
    if (a === '--cluster') {
      i++;
      continue;
    }
    if (a.startsWith('-') && a !== '-') continue;
    return { name: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { name: undefined, rest: [...argv] };
}

export function defaultIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

export async function runCli(argv: readonly string[], io: CliIO = defaultIO()): Promise<number> {
  let ctx: Context | null = null;
  try {
    const { name, rest } = splitCommand(argv);
    if (name === undefined || name === 'help') {
      const globals = parseArgs(rest, GLOBAL_FLAGS, 'mcs');
      const topic = name === 'help' ? globals.positionals[0] : undefined;
      if (topic !== undefined) {
        const c = byName.get(topic);
        if (!c) throw unknownCommand(topic);
        io.stdout.write(commandHelp(c));
      } else {
        io.stdout.write(helpText());
      }
      return 0;
    }
    const command = byName.get(name);
    if (!command) throw unknownCommand(name);
    const args = parseArgs(rest, [...GLOBAL_FLAGS, ...(command.flags ?? [])], `mcs ${command.name}`);
    if (boolFlag(args, 'help')) {
      io.stdout.write(commandHelp(command));
      return 0;
    }
    const required = command.required ?? [];
    const optional = command.optional ?? [];
    if (args.positionals.length < required.length) {
      throw new UsageError(`${command.name} needs ${required.slice(args.positionals.length).join(' ')} (usage: mcs ${command.name} ${command.usage})`);
    }
    if (args.positionals.length > required.length + optional.length) {
      throw new UsageError(`unexpected argument '${args.positionals[required.length + optional.length]}' for mcs ${command.name}`);
    }
    const state = resolveStateDir({ cluster: stringFlag(args, 'cluster'), env: io.env });
    ctx = new Context(io, state, boolFlag(args, 'json'), boolFlag(args, 'yes'), command.name);
    return (await command.run(ctx, args, args.positionals)) ?? 0;
  } catch (e) {
    return report(e, io);
  } finally {
    await ctx?.close();
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

function report(e: unknown, io: CliIO): number {
  if (io.env.MCS_DEBUG && e instanceof Error && e.stack) io.stderr.write(e.stack + '\n');
  if (e instanceof UsageError) {
    io.stderr.write(`mcs: ${oneLine(e.message)}\n`);
    return 2;
  }
  if (e instanceof Cancelled) {
    io.stderr.write('mcs: cancelled\n');
    return 1;
  }
  if (e instanceof ControlError) {
    io.stderr.write(`mcs: ${oneLine(e.message)}\n`);
    return e.code === 'bad-request' ? 2 : 1;
  }
  io.stderr.write(`mcs: ${oneLine(e instanceof Error ? e.message : String(e))}\n`);
  return 1;
}
