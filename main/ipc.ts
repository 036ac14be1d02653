// The only way the main process answers the renderer: `handleChecked`, a wrapper
// around ipcMain.handle that (1) refuses any sender frame that is not the
// console page, and (2) validates the arguments with a zod schema before the
// handler sees them. The renderer is treated as untrusted input, as the Electron
// security checklist asks ("validate the sender of all IPC messages").
//
// Written against the small structural types below rather than Electron's, so
// this file loads under plain Node and its behaviour is tested in test/ui/ipc.test.ts.
// main/index.ts passes the real ipcMain, and tsc checks that it fits.
import type { z } from 'zod';
import type { IpcChannel, IpcChannels } from './bridge-types';

/** The parts of Electron's WebContents a handler may push to. */
export interface SenderLike {
  readonly id: number;
  send(channel: string, payload: unknown): void;
  isDestroyed(): boolean;
  once(event: 'destroyed', listener: () => void): unknown;
}

/** The parts of Electron's IpcMainInvokeEvent this wrapper reads. */
export interface InvokeEventLike {
  /** Null when the frame navigated away or was destroyed before the call arrived. */
  readonly senderFrame: { readonly url: string } | null;
  readonly sender: SenderLike;
}

/** The part of Electron's ipcMain this wrapper uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void;
}

/** A handler gets the calling page's web contents first (to push subscriptions to), then the checked arguments. */
export type Handler<C extends IpcChannel> = (
  sender: SenderLike,
  ...args: IpcChannels[C]['args']
) => IpcChannels[C]['result'] | Promise<IpcChannels[C]['result']>;

export type HandleChecked = <C extends IpcChannel>(
  channel: C,
  argsSchema: z.ZodType<IpcChannels[C]['args']>,
  handler: Handler<C>,
) => void;

/** Thrown back to the renderer (Electron rejects its invoke() promise with the message). */
export class IpcRefused extends Error {
  override name = 'IpcRefused';
}

/**
 * Returns `handleChecked(channel, argsSchema, handler)` bound to `ipc`, accepting
 * calls only from frames whose URL passes `isTrustedSender`.
 */
export function createHandleChecked(
  ipc: IpcMainLike,
  isTrustedSender: (url: string) => boolean,
): HandleChecked {
  return (channel, argsSchema, handler) => {
    ipc.handle(channel, async (event, ...args) => {
      const url = event.senderFrame?.url;
      if (url === undefined || !isTrustedSender(url)) {
        throw new IpcRefused(`${channel}: refused, sender ${url ?? '(no frame)'} is not the console page`);
      }
      const parsed = argsSchema.safeParse(args);
      if (!parsed.success) {
        throw new IpcRefused(`${channel}: invalid arguments: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
      }
      return handler(event.sender, ...parsed.data);
    });
  };
}
