// The console's Content-Security-Policy, declared once. The main process sends
// it as a response header for every page it loads, and renderer/index.html
// carries the same text in a <meta> tag (test/ui/renderer.test.ts checks they
// are equal), so a page opened in a plain browser is held to the same rules.
//
// connect-src allows only loopback: the headless console server and the node
// processes listen on 127.0.0.1 (BRIEF §2); the renderer talks to nothing else.
// No 'unsafe-inline' and no 'unsafe-eval': the built renderer has no inline
// script or style, and Vue's production build needs no eval.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self' ws://127.0.0.1:* http://127.0.0.1:*",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/**
 * The policy for `electron-vite dev` only: Vite's dev server injects component
 * styles as <style> elements, which the strict policy blocks. Never used for a
 * built renderer.
 */
export const DEV_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
  "style-src 'self'",
  "style-src 'self' 'unsafe-inline'",
);
