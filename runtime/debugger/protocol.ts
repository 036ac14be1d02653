// The debug channel between each node's debug agent and the supervisor's
// debugger service: newline-delimited JSON over a Unix socket in the
// multicomputer's state directory (mode 0700), opened with a token read from a
// 0600 file there. Every line that arrives is validated here before use.
import { z } from 'zod';

const int = z.number().int().min(0);

export const Location = z.object({ file: z.string().max(4096), line: int, column: int.optional() });
export type Location = z.infer<typeof Location>;

export const StackFrame = z.object({ fn: z.string().max(512), file: z.string().max(4096), line: int, column: int });
export type StackFrame = z.infer<typeof StackFrame>;

export const ThreadState = z.enum(['running', 'paused']);

export const AgentThread = z.object({
  thread: int,
  name: z.string().max(256),
  state: ThreadState,
  where: StackFrame.nullable(),
});
export type AgentThread = z.infer<typeof AgentThread>;

/** A breakpoint as the agent applies it to every thread it has and every thread that starts later. */
export const BreakSpec = z.object({
  id: int,
  /** FILE:LINE (FILE matches the end of the script's path) or a function name. */
  file: z.string().max(4096).nullable(),
  line: int.nullable(),
  fn: z.string().max(256).nullable(),
  condition: z.string().max(4096).nullable(),
  /** Threads of this node it applies to (null: all of them, including later ones). */
  threads: z.array(int).nullable(),
});
export type BreakSpec = z.infer<typeof BreakSpec>;

export const Hello = z.strictObject({
  type: z.literal('hello'),
  token: z.string().min(16).max(256),
  node: int,
  incarnation: int,
  pid: int,
});

export const AgentEvent = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('thread'), thread: AgentThread }),
  z.strictObject({ type: z.literal('thread-exit'), thread: int }),
  z.strictObject({
    type: z.literal('paused'),
    thread: int,
    reason: z.string().max(64),
    /** Breakpoint ids (BreakSpec.id) that caused the pause. */
    breakpoints: z.array(int),
    frames: z.array(StackFrame).max(256),
  }),
  z.strictObject({ type: z.literal('resumed'), thread: int }),
  z.strictObject({ type: z.literal('output'), thread: int, level: z.string().max(16), text: z.string().max(65536) }),
  z.strictObject({ type: z.literal('reply'), id: int, ok: z.boolean(), result: z.unknown().optional(), error: z.string().max(4096).optional() }),
]);
export type AgentEvent = z.infer<typeof AgentEvent>;

export const AgentMessage = z.union([Hello, AgentEvent]);

export const AgentOp = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('set-breakpoints'), breakpoints: z.array(BreakSpec) }),
  z.strictObject({ op: z.literal('pause'), threads: z.array(int) }),
  z.strictObject({ op: z.literal('resume'), threads: z.array(int) }),
  z.strictObject({ op: z.literal('step'), threads: z.array(int), how: z.enum(['into', 'over', 'out']) }),
  z.strictObject({ op: z.literal('evaluate'), threads: z.array(int), expression: z.string().max(4096) }),
  z.strictObject({ op: z.literal('stacks'), threads: z.array(int) }),
  z.strictObject({ op: z.literal('capture-output'), on: z.boolean() }),
  /** The developer's text of a script the thread has loaded (FILE matches the end of its path), for `list`. */
  z.strictObject({ op: z.literal('source'), thread: int, file: z.string().max(4096) }),
  /** The service is going away: resume everything and forget breakpoints. */
  z.strictObject({ op: z.literal('detach') }),
]);
export type AgentOp = z.infer<typeof AgentOp>;

export const ServiceMessage = z.union([
  z.strictObject({ type: z.literal('welcome') }),
  z.strictObject({ type: z.literal('request'), id: int, request: AgentOp }),
]);
export type ServiceMessage = z.infer<typeof ServiceMessage>;

/** Longest script text `list` carries (one reply line stays under MAX_LINE_BYTES). */
export const MAX_SOURCE_CHARS = 1024 * 1024;

/** One value or error per thread, as an evaluate reply carries it. */
export const EvalAnswer = z.object({ thread: int, value: z.string().max(65536).nullable(), error: z.string().max(4096).nullable() });
export const EvalReply = z.array(EvalAnswer);
/** Null when the thread has loaded no script of that name. */
export const SourceReply = z.object({ file: z.string().max(4096), text: z.string().max(MAX_SOURCE_CHARS) }).nullable();
export const StacksReply = z.array(z.object({ thread: int, frames: z.array(StackFrame).max(256) }));

/** Largest line either side accepts; a longer one closes the channel. */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

/** Splits a byte stream into lines, refusing any longer than MAX_LINE_BYTES. */
export function lineReader(onLine: (line: string) => void, onTooLong: () => void): (chunk: Buffer) => void {
  let rest = '';
  return (chunk) => {
    rest += chunk.toString('utf8');
    if (rest.length > MAX_LINE_BYTES && !rest.includes('\n')) {
      rest = '';
      onTooLong();
      return;
    }
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (line) onLine(line);
    }
  };
}

export function parseJsonLine<T>(schema: z.ZodType<T>, line: string): T | null {
  try {
    const r = schema.safeParse(JSON.parse(line));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
