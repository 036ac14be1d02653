// A raw HTTP/1.1 client for tests: the request target is written byte for byte
// (no URL normalisation, so traversal attempts reach the server as sent), and the
// whole response comes back with its status, headers and body bytes.
import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export function rawRequest(port: number, target: string, opts: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<RawResponse> {
  const method = opts.method ?? 'GET';
  const head = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.setTimeout(opts.timeoutMs ?? 10_000, () => sock.destroy(new Error(`no complete response to ${method} ${target}`)));
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return reject(new Error(`malformed response to ${target}: ${all.subarray(0, 80).toString()}`));
      const lines = all.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(lines[0]!.split(' ')[1]);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      let body: Buffer = all.subarray(end + 4);
      if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
      resolve({ status, headers, body });
    });
    sock.write(head + '\r\n\r\n');
  });
}

function dechunk(b: Buffer): Buffer {
  // (chunked bodies are rare here: every Web cache answer has a Content-Length)
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', i);
    const n = parseInt(b.subarray(i, eol).toString(), 16);
    if (!n) return Buffer.concat(out);
    out.push(b.subarray(eol + 2, eol + 2 + n));
    i = eol + 2 + n + 2;
  }
}
