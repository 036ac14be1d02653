// Calls a backend method by name on behalf of any transport (HTTP, WebSocket,
// Electron IPC): one place where params are validated before the backend sees
// them and results are validated before they leave the process, so a transport
// cannot forget either.
import {
  ControlError,
  isMethodName,
  parseParams,
  parseResult,
  type ControlBackend,
  type MethodName,
  type Result,
} from './api';
import { buildWaitGraph } from './wait-graph';

export async function dispatch(backend: ControlBackend, name: string, rawParams: unknown): Promise<Result<MethodName>> {
  if (!isMethodName(name)) throw new ControlError('not-found', `unknown method '${name}'`);
  const params = parseParams(name, rawParams);
  let result: unknown;
  try {
    result = await callBackend(backend, name, params);
  } catch (e) {
    throw ControlError.from(e);
  }
  return parseResult(name, result, 'the backend');
}

async function callBackend(backend: ControlBackend, name: MethodName, params: unknown): Promise<unknown> {
  if (name === 'waitGraph' && typeof backend.waitGraph !== 'function') {
    return buildWaitGraph(await backend.mutexes({}));
  }
  if (name === 'shutdown' && typeof backend.shutdown !== 'function') {
    throw new ControlError('unavailable', 'this multicomputer cannot be shut down from the console');
  }
  const fn = (backend as unknown as Record<string, (p: unknown) => unknown>)[name];
  if (typeof fn !== 'function') throw new ControlError('unavailable', `the backend does not implement ${name}`);
  return fn.call(backend, params);
}
