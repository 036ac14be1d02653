// How a browser signs in to the headless console without ever holding the
// control token (as Jupyter does): the command that starts the server prints a
// one-time login URL, /login?once=<code>; opening it trades the code for a
// session cookie (HttpOnly: page scripts cannot read it; SameSite=Strict: no
// other site can make the browser send it) and redirects to the console.
//
// The code is spent on first use and expires shortly after it is printed, so a
// URL left in shell history, a terminal scrollback or the browser's history
// opens nothing. Session secrets are independent of the token and of each other;
// only their digests are kept, compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'mcs_session';
export const DEFAULT_LOGIN_CODE_TTL_MS = 2 * 60_000;
/** More live browser sessions than any operator needs; the oldest is dropped past this. */
const MAX_SESSIONS = 64;
const MAX_PENDING_CODES = 16;

const digest = (s: string) => createHash('sha256').update(s).digest();
const secret = () => randomBytes(32).toString('base64url');

export interface BrowserLogins {
  /** A new one-time code, valid once and for ttlMs. */
  issueCode(): string;
  /** Spends the code: a new session secret if it was valid, null otherwise (used, expired, unknown). */
  redeem(code: string | null): string | null;
  /** True when the cookie header carries a live session secret. */
  isSession(cookieHeader: string | undefined): boolean;
}

export function createBrowserLogins(ttlMs = DEFAULT_LOGIN_CODE_TTL_MS, now: () => number = Date.now): BrowserLogins {
  const codes = new Map<string, number>(); // hex digest of the code → expiry
  const sessions: Buffer[] = [];

  return {
    issueCode() {
      for (const [d, expires] of codes) if (expires <= now()) codes.delete(d);
      if (codes.size >= MAX_PENDING_CODES) codes.delete(codes.keys().next().value!);
      const code = secret();
      codes.set(digest(code).toString('hex'), now() + ttlMs);
      return code;
    },
    redeem(code) {
      if (typeof code !== 'string' || code.length === 0 || code.length > 128) return null;
      const key = digest(code).toString('hex');
      const expires = codes.get(key);
      // Deleted before the expiry check: a code is never good for a second try, late or not.
      codes.delete(key);
      if (expires === undefined || expires <= now()) return null;
      const session = secret();
      sessions.push(digest(session));
      if (sessions.length > MAX_SESSIONS) sessions.shift();
      return session;
    },
    isSession(cookieHeader) {
      const given = cookieValue(cookieHeader, SESSION_COOKIE);
      if (given === null) return false;
      const d = digest(given);
      let found = false;
      for (const s of sessions) found = timingSafeEqual(s, d) || found;
      return found;
    },
  };
}

/** The value of one cookie in a Cookie header, or null. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The Set-Cookie header for a session: no Max-Age, so it ends with the browser session. */
export function sessionCookie(session: string): string {
  return `${SESSION_COOKIE}=${session}; Path=/; HttpOnly; SameSite=Strict`;
}
