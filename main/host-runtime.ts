// The desktop app's runtime hosting (BRIEF §2): the supervisor runs in Electron's
// main process with each node an Electron utility process, the control server
// listens on 127.0.0.1 for the `mcs` CLI (control.json, token), and the console
// API, its subscriptions and the terminal are answered over IPC.
//
// Electron is handed in (the `DesktopElectron` parts below), never imported, so
// test/main runs this very file under a stand-in whose utilityProcess.fork starts
// real Node children.
import { z } from 'zod';
import { startMulticomputer } from '../runtime/cluster/supervisor';
import type { MulticomputerOptions } from '../runtime/cluster/types';
import { ControlError, LogFilter, methodNames, type ControlBackend, type MethodName, type Unsubscribe } from '../runtime/control/api';
import { TerminalClientMessage, TerminalSize } from '../runtime/control/api/terminal-protocol';
import { createControlBackend } from '../runtime/control/backend';
import { dispatch } from '../runtime/control/dispatch';
import { subscribeLogFeed } from '../runtime/control/log-feed';
import { startControlServer, type ControlServer } from '../runtime/control/server';
import { subscribeStatusFeed } from '../runtime/control/status-feed';
import { openTerminal, type TerminalOptions, type TerminalSession } from '../runtime/control/terminal';
import { electronNodeHost, type UtilityProcessModule } from '../runtime/nodes/host-electron';
import type { ApiEnvelope, IpcChannel } from './bridge-types';
import { createHandleChecked, type IpcMainLike, type SenderLike } from './ipc';

export interface HostRuntimeOptions {
  multicomputer: MulticomputerOptions;
  /** out/main/node-entry.js: what each node's utility process runs. */
  nodeEntry: string;
  /** Environment of the node processes (the stand-in test points MCS_GSM_NATIVE at a Node-ABI addon). */
  nodeEnv?: NodeJS.ProcessEnv;
  /** $MCS_HOME the terminal's `mcs` uses: the parent of multicomputer.stateDir. */
  mcsHome: string;
  /** Terminal settings other than where `mcs` finds this multicomputer. */
  terminal?: Omit<TerminalOptions, 'mcsHome' | 'cluster'>;
}

export interface HostedRuntime {
  readonly backend: ControlBackend;
  readonly server: ControlServer;
  /** Answers the console's IPC channels for frames whose URL passes isTrustedSender. */
  registerIpc(ipcMain: IpcMainLike, isTrustedSender: (url: string) => boolean): void;
  /** Ends a page's subscriptions and terminals (its renderer crashed or reloaded); the nodes are untouched. */
  dropSender(senderId: number): void;
  /** Stops terminals, subscriptions, the control server, then the multicomputer. */
  stop(): Promise<void>;
}

const SubscriptionId = z.number().int().min(1);
const SessionId = z.number().int().min(1);

export async function hostRuntime(utilityProcess: UtilityProcessModule, options: HostRuntimeOptions): Promise<HostedRuntime> {
  const mc = await startMulticomputer(options.multicomputer, electronNodeHost(utilityProcess, options.nodeEntry, options.nodeEnv));
  const backend = createControlBackend(mc);
  let server: ControlServer;
  try {
    server = await startControlServer(backend, { stateDir: options.multicomputer.stateDir });
  } catch (e) {
    await mc.stop().catch(() => {});
    throw e;
  }

  /** What each page holds open: subscriptions and terminals, ended with the page. */
  interface PageResources {
    subscriptions: Map<number, Unsubscribe>;
    terminals: Map<number, TerminalSession>;
  }
  const pages = new Map<number, PageResources>();
  const pageOf = (sender: SenderLike): PageResources => {
    let page = pages.get(sender.id);
    if (!page) {
      page = { subscriptions: new Map(), terminals: new Map() };
      pages.set(sender.id, page);
      sender.once('destroyed', () => dropSender(sender.id));
    }
    return page;
  };
  const push = (sender: SenderLike, channel: string, payload: unknown) => {
    if (!sender.isDestroyed()) sender.send(channel, payload);
  };
  let nextTerminal = 0;

  function dropSender(senderId: number): void {
    const page = pages.get(senderId);
    if (!page) return;
    pages.delete(senderId);
    for (const unsubscribe of page.subscriptions.values()) unsubscribe();
    for (const t of page.terminals.values()) t.close();
  }

  function registerIpc(ipcMain: IpcMainLike, isTrustedSender: (url: string) => boolean): void {
    const handleChecked = createHandleChecked(ipcMain, isTrustedSender);
    for (const name of methodNames) {
      // The method's own schema (api.ts) checks the params inside dispatch, so a bad
      // one comes back as the API's 'bad-request' naming the field, as over HTTP.
      const channel = `api:${name}` as IpcChannel;
      (handleChecked as (c: IpcChannel, s: z.ZodType, h: (sender: SenderLike, params: unknown) => unknown) => void)(
        channel,
        z.tuple([z.unknown()]),
        (_sender, params) => envelope(dispatch(backend, name satisfies MethodName, params)),
      );
    }
    /** Starts a subscription for the page; its pushes and its end go to `channel`. */
    const subscribeFor = (
      sender: SenderLike,
      id: number,
      channel: 'api:status' | 'api:log',
      start: (pushError: (e: ControlError) => void) => Unsubscribe,
    ) => {
      const page = pageOf(sender);
      if (page.subscriptions.has(id)) throw new ControlError('conflict', `subscription ${id} already exists`);
      page.subscriptions.set(id, start((e) => push(sender, channel, { subscription: id, error: e.toJSON() })));
    };
    handleChecked('api:subscribeStatus', z.tuple([SubscriptionId]), (sender, id) =>
      subscribeFor(sender, id, 'api:status', (pushError) =>
        subscribeStatusFeed(backend, (update) => push(sender, 'api:status', { subscription: id, update }), pushError),
      ),
    );
    handleChecked('api:subscribeLog', z.tuple([SubscriptionId, LogFilter]), (sender, id, filter) =>
      subscribeFor(sender, id, 'api:log', (pushError) =>
        subscribeLogFeed(backend, filter, (rows) => push(sender, 'api:log', { subscription: id, rows }), pushError),
      ),
    );
    handleChecked('api:unsubscribe', z.tuple([SubscriptionId]), (sender, id) => {
      const page = pages.get(sender.id);
      const unsubscribe = page?.subscriptions.get(id);
      page?.subscriptions.delete(id);
      unsubscribe?.();
    });
    handleChecked('terminal:open', z.tuple([TerminalSize]), (sender, size) => {
      const page = pageOf(sender);
      const id = ++nextTerminal;
      const session = openTerminal(
        { ...options.terminal, size, mcsHome: options.mcsHome, cluster: options.multicomputer.name },
        (message) => {
          push(sender, 'terminal:message', { id, message });
          if (message.type === 'exit') page.terminals.delete(id);
        },
      );
      page.terminals.set(id, session);
      return id;
    });
    handleChecked('terminal:send', z.tuple([SessionId, TerminalClientMessage]), (sender, id, message) => {
      pages.get(sender.id)?.terminals.get(id)?.receive(message);
    });
    handleChecked('terminal:close', z.tuple([SessionId]), (sender, id) => {
      const page = pages.get(sender.id);
      page?.terminals.get(id)?.close();
      page?.terminals.delete(id);
    });
  }

  let stopping: Promise<void> | null = null;
  return {
    backend,
    server,
    registerIpc,
    dropSender,
    stop() {
      stopping ??= (async () => {
        for (const id of [...pages.keys()]) dropSender(id);
        // The nodes leave first and the server goes last, as in `mcs up`: a CLI
        // watching sees them go, and control.json disappears only when all is down.
        try {
          await mc.stop();
        } finally {
          await server.close();
        }
      })();
      return stopping;
    },
  };
}

async function envelope<T>(result: Promise<T>): Promise<ApiEnvelope<T>> {
  try {
    return { ok: true, result: await result };
  } catch (e) {
    const err = ControlError.from(e);
    if (err.code === 'internal') console.error('mcs console: a console API call failed:', err.cause ?? err);
    return { ok: false, error: err.toJSON() };
  }
}
