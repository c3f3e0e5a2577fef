/**
 * One HTTP(S) request for the `http` check, on `node:http`/`node:https`.
 * Not `fetch`: undici's fetch refuses the "bad ports" of the WHATWG fetch spec
 * (6000, 6666, 10080, …), and health endpoints live on any port.
 */
import { createRequire } from 'node:module';

// Loaded on a check's first request, through require: an ES `import` of node:http
// builds its module namespace, which loads Node's whole fetch stack (undici, ~40 ms)
// on every start of the CLI, a deploy without http checks included.
const requireBuiltin = createRequire(import.meta.url);
let clients: { http: typeof import('node:http'); https: typeof import('node:https') } | undefined;
const loadClients = () =>
  (clients ??= {
    http: requireBuiltin('node:http') as typeof import('node:http'),
    https: requireBuiltin('node:https') as typeof import('node:https'),
  });

export interface HttpAnswer {
  status: number;
  body: string;
}

export interface HttpRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  /** Follow 3xx answers with a Location (up to `MAX_REDIRECTS`). */
  follow: boolean;
  /** Bodies are read up to this many bytes. */
  maxBody: number;
  signal: AbortSignal;
}

const MAX_REDIRECTS = 10;

/** Request `url`, following redirects when asked. Rejects on network errors and on abort. */
export async function httpRequest(r: HttpRequest): Promise<HttpAnswer> {
  let url = new URL(r.url);
  let method = r.method;
  for (let hop = 0; ; hop++) {
    const answer = await once(url, method, r);
    const location = answer.location;
    if (!r.follow || location === undefined || answer.status < 300 || answer.status >= 400) return answer;
    if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
    url = new URL(location, url);
    // As browsers do: 303 (and 301/302 after a POST) continue as GET.
    if (answer.status === 303 || ((answer.status === 301 || answer.status === 302) && method === 'POST'))
      method = 'GET';
  }
}

function once(url: URL, method: string, r: HttpRequest): Promise<HttpAnswer & { location?: string }> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return Promise.reject(new Error(`unsupported protocol ${url.protocol} (use http:// or https://)`));
  const { http, https } = loadClients();
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method, headers: r.headers, signal: r.signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        const location = res.headers.location;
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          ...(location !== undefined ? { location } : {}),
        });
      };
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        // A health page is small: stop reading a huge or endless body.
        if (size >= r.maxBody) {
          finish();
          res.destroy();
        }
      });
      res.on('end', finish);
      res.on('error', (error) => (done ? undefined : reject(error)));
      res.on('close', () =>
        done ? undefined : reject(Object.assign(new Error('connection reset'), { code: 'ECONNRESET' })),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
