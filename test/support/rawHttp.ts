import { request } from 'node:http';

/**
 * A request whose path goes on the wire exactly as written: fetch() and the URL parser would
 * resolve `..` and `%2e%2e` before sending, hiding what an attacker can really send.
 */
export function rawRequest(baseUrl: string, rawPath: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const base = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: base.port, path: rawPath, method: 'GET', headers: { host: base.host, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}
