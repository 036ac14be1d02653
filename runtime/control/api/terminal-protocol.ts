// The console terminal's messages, both directions, for both transports (a
// WebSocket in web mode, Electron IPC in the desktop app). Imported by the
// renderer: no node: imports.
//
// Flow control is acknowledgement-based, as in xterm.js's flow-control guide and
// VS Code's pty host: the client acknowledges output once xterm.js has parsed it
// (its write callback), in batches of ACK_CHARS; the pty side pauses the shell
// when more than HIGH_WATERMARK_CHARS are unacknowledged and resumes it below
// LOW_WATERMARK_CHARS. A command flooding output (`yes`, `cat big.log`) then runs
// at the speed the page can draw, and nothing in between buffers without bound.
import { z } from 'zod';

export const HIGH_WATERMARK_CHARS = 100_000;
export const LOW_WATERMARK_CHARS = 5_000;
export const ACK_CHARS = 5_000;
/** Largest chunk of input (a paste) one message carries. */
export const MAX_INPUT_CHARS = 64 * 1024;

export const TerminalSize = z.strictObject({
  cols: z.number().int().min(2, 'cols must be >= 2').max(1000, 'cols must be <= 1000'),
  rows: z.number().int().min(1, 'rows must be >= 1').max(1000, 'rows must be <= 1000'),
});
export type TerminalSize = z.infer<typeof TerminalSize>;

export const TerminalClientMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('input'), data: z.string().max(MAX_INPUT_CHARS, `input is at most ${MAX_INPUT_CHARS} characters`) }),
  z.strictObject({ type: z.literal('resize'), ...TerminalSize.shape }),
  /** Characters of output the client has parsed since its last ack. */
  z.strictObject({ type: z.literal('ack'), chars: z.number().int().min(1).max(HIGH_WATERMARK_CHARS * 100) }),
]);
export type TerminalClientMessage = z.infer<typeof TerminalClientMessage>;

export const TerminalServerMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ready'), shell: z.string(), pid: z.number().int(), ...TerminalSize.shape }),
  z.strictObject({ type: z.literal('output'), data: z.string() }),
  z.strictObject({ type: z.literal('exit'), code: z.number().int().nullable(), signal: z.number().int().nullable() }),
  z.strictObject({ type: z.literal('error'), message: z.string() }),
]);
export type TerminalServerMessage = z.infer<typeof TerminalServerMessage>;

/** The path of the terminal's WebSocket on the headless server. */
export const TERMINAL_SOCKET_PATH = '/pty';

/**
 * Counts what the client has parsed and says when to acknowledge: call `written`
 * from xterm.js's write callback; a non-zero result is the ack to send.
 */
export function createAckCounter(every = ACK_CHARS): { written(chars: number): number } {
  let pending = 0;
  return {
    written(chars) {
      pending += chars;
      if (pending < every) return 0;
      const ack = pending;
      pending = 0;
      return ack;
    },
  };
}
