// One HTTP GET with a deadline and the whole body, on a fresh connection unless
// an agent is given (a probe must not ride a keep-alive socket to a server that
// may have just died; one that probes only live servers may).
import http from 'node:http';

export interface ProbeResult {
  status: number;
  body: Buffer;
  headers: http.IncomingHttpHeaders;
}

export function probe(url: string, timeoutMs: number, headers: Record<string, string> = {}, agent: http.Agent | false = false): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}
