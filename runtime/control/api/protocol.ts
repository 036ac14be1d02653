// Envelopes of the headless transport: HTTP responses and WebSocket messages.
// Like api.ts this is imported by browser code (no node: imports). Every message
// that arrives from the other side goes through one of these parsers.
import { z } from 'zod';
import { ControlErrorBody, LogFilter, LogRow, StatusUpdate, describeIssues } from '../api';

export const MessageId = z.union([z.string().min(1).max(64), z.number().int()], { error: 'expected an id (string or integer)' });
export type MessageId = z.infer<typeof MessageId>;

export const HttpResponse = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: ControlErrorBody }),
]);
export type HttpResponse = z.infer<typeof HttpResponse>;

// Client → server
export const AuthMessage = z.strictObject({ token: z.string().min(1).max(256) });
export const CallMessage = z.strictObject({ id: MessageId, method: z.string().min(1).max(64), params: z.unknown().optional() });
export const SubscribeMessage = z.strictObject({
  id: MessageId.optional(),
  subscribe: z.enum(['status', 'log'], { error: "expected subscribe: 'status' or 'log'" }),
  filter: LogFilter.optional(),
});
export const UnsubscribeMessage = z.strictObject({ unsubscribe: MessageId });

export type ClientMessage =
  | { kind: 'auth'; msg: z.infer<typeof AuthMessage> }
  | { kind: 'call'; msg: z.infer<typeof CallMessage> }
  | { kind: 'subscribe'; msg: z.infer<typeof SubscribeMessage> }
  | { kind: 'unsubscribe'; msg: z.infer<typeof UnsubscribeMessage> };

export type ParseOutcome<T> = { ok: true; value: T } | { ok: false; message: string; id: MessageId | null };

/** Recognises a client message by its distinguishing key, then validates it strictly. */
export function parseClientMessage(text: string): ParseOutcome<ClientMessage> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, message: 'message is not valid JSON', id: null };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, message: 'message must be a JSON object', id: null };
  }
  const obj = raw as Record<string, unknown>;
  const idParse = MessageId.safeParse(obj.id);
  const id = idParse.success ? idParse.data : null;
  const check = <K extends ClientMessage['kind']>(kind: K, schema: z.ZodType): ParseOutcome<ClientMessage> => {
    const r = schema.safeParse(raw);
    if (!r.success) return { ok: false, message: describeIssues(r.error, 'message'), id };
    return { ok: true, value: { kind, msg: r.data } as ClientMessage };
  };
  if ('method' in obj) return check('call', CallMessage);
  if ('subscribe' in obj) return check('subscribe', SubscribeMessage);
  if ('unsubscribe' in obj) return check('unsubscribe', UnsubscribeMessage);
  if ('token' in obj) return check('auth', AuthMessage);
  return { ok: false, message: 'expected {id, method, params}, {subscribe}, {unsubscribe} or {token}', id };
}

// Server → client
export const ResponseMessage = z.union([
  z.object({ id: MessageId.nullable(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: MessageId.nullable(), ok: z.literal(false), error: ControlErrorBody }),
]);
export const StatusPushMessage = z.object({ subscription: MessageId, status: StatusUpdate });
export const LogPushMessage = z.object({ subscription: MessageId, rows: z.array(LogRow) });
export const SubscriptionErrorMessage = z.object({ subscription: MessageId, error: ControlErrorBody });
export const ServerMessage = z.union([ResponseMessage, StatusPushMessage, LogPushMessage, SubscriptionErrorMessage]);
export type ServerMessage = z.infer<typeof ServerMessage>;
export type ResponseMessage = z.infer<typeof ResponseMessage>;

/** WebSocket close code for a failed or missing authentication (4000–4999 are application codes). */
export const WS_CLOSE_UNAUTHORIZED = 4401;
export const WS_CLOSE_PROTOCOL = 4400;
