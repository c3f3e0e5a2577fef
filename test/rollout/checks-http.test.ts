import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckSpec } from '../../src/config/types.js';
import { checkLabel, runCheck, runChecks, statusMatches } from '../../src/rollout/checks/index.js';
import { freePort } from '../helpers/host.js';
import { PROMPTLY_MS } from '../helpers/timing.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;
const servers: http.Server[] = [];

/** A real server on 127.0.0.1; the handler gets the request count (1-based). */
async function serve(handler: Handler): Promise<{ url: string; requests: () => number }> {
  let n = 0;
  const server = http.createServer((req, res) => handler(req, res, ++n));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => n };
}

/** Ports fetch refuses; several, in case another test run holds one. */
const BLOCKED_PORTS = [6666, 6000, 6665, 6667, 6668, 6669, 10080];

async function serveOnBlockedPort(handler: Handler): Promise<{ url: string }> {
  for (const port of BLOCKED_PORTS) {
    const server = http.createServer((req, res) => handler(req, res, 0));
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!listening) continue;
    servers.push(server);
    return { url: `http://127.0.0.1:${port}` };
  }
  throw new Error(`all of ${BLOCKED_PORTS.join(', ')} are in use`);
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

const reply =
  (status: number, body = '') =>
  (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
  };

function httpCheck(url: string, extra: Partial<Extract<CheckSpec, { kind: 'http' }>> = {}): CheckSpec {
  return {
    kind: 'http',
    url,
    method: 'GET',
    headers: {},
    status: ['2xx'],
    intervalMs: 50,
    timeoutMs: 2000,
    successThreshold: 1,
    ...extra,
  };
}
const ctx = { host: '127.0.0.1', cwd: process.cwd() };

describe('statusMatches', () => {
  it('accepts numbers, numeric strings and classes', () => {
    expect(statusMatches(204, ['2xx'])).toBe(true);
    expect(statusMatches(204, ['2XX'])).toBe(true);
    expect(statusMatches(301, ['2xx'])).toBe(false);
    expect(statusMatches(204, [200, 204])).toBe(true);
    expect(statusMatches(201, [200, 204])).toBe(false);
    expect(statusMatches(503, ['5xx'])).toBe(true);
    expect(statusMatches(200, ['200'])).toBe(true);
    expect(statusMatches(200, [])).toBe(true);
    expect(statusMatches(404, [])).toBe(false);
  });
});

describe('http check', () => {
  it('passes on an expected status and says so', async () => {
    const { url } = await serve(reply(204));
    const r = await runCheck(httpCheck(`${url}/health`), ctx);
    expect(r).toMatchObject({ ok: true, attempts: 1, cancelled: false });
    expect(r.detail).toBe(`GET ${url}/health → 204 (1 attempt)`);
  });

  it('explains an unexpected status, with the start of the body', async () => {
    const { url } = await serve(reply(503, 'invalid workflow b.json\n'));
    // Room for a second attempt even on a loaded machine (the count is the point, not the clock).
    const r = await runCheck(httpCheck(`${url}/health`, { timeoutMs: 1500, intervalMs: 100 }), ctx);
    expect(r.ok).toBe(false);
    const [first, second] = r.detail.split('\n');
    expect(first).toBe(`GET ${url}/health → 503 (expected 2xx); body: "invalid workflow b.json"`);
    expect(second).toBe(`${r.attempts} attempts, gave up after 1.5s`);
    expect(r.attempts).toBeGreaterThanOrEqual(2);
    expect(r.attempts).toBeLessThanOrEqual(16);
    expect(r.durationMs).toBeLessThan(PROMPTLY_MS);
  });

  it('checks a list of statuses', async () => {
    const { url } = await serve(reply(201));
    const r = await runCheck(httpCheck(url, { status: [200, 204], timeoutMs: 0 }), ctx);
    expect(r.ok).toBe(false);
    expect(r.detail.split('\n')[0]).toBe(`GET ${url} → 201 (expected 200, 204)`);
    const five = await serve(reply(503));
    expect((await runCheck(httpCheck(five.url, { status: ['5xx'] }), ctx)).ok).toBe(true);
  });

  it('demands a substring of the body', async () => {
    const { url } = await serve(reply(200, '{"release":"v1"}'));
    expect((await runCheck(httpCheck(url, { contains: '"v1"' }), ctx)).ok).toBe(true);
    const r = await runCheck(httpCheck(url, { contains: 'v2', timeoutMs: 0 }), ctx);
    expect(r.ok).toBe(false);
    expect(r.detail.split('\n')[0]).toBe(
      `GET ${url} → 200, body does not contain "v2"; body: "{\\"release\\":\\"v1\\"}"`,
    );
  });

  it('demands a regular expression match', async () => {
    const { url } = await serve(reply(200, 'status: ok\nversion: 1.4.0'));
    expect((await runCheck(httpCheck(url, { matches: '^version: 1\\.\\d+', timeoutMs: 0 }), ctx)).ok).toBe(
      false,
    );
    expect((await runCheck(httpCheck(url, { matches: 'version: 1\\.\\d+' }), ctx)).ok).toBe(true);
    const r = await runCheck(httpCheck(url, { matches: 'version: 2', timeoutMs: 0 }), ctx);
    expect(r.detail.split('\n')[0]).toMatch(/body does not match \/version: 2\//);
  });

  it('stops at once on an invalid regular expression', async () => {
    const { url, requests } = await serve(reply(200));
    const r = await runCheck(httpCheck(url, { matches: '(' }), ctx);
    expect(r).toMatchObject({ ok: false, attempts: 1 });
    expect(r.detail).toMatch(/^matches: invalid regular expression \/\(\//);
    expect(requests()).toBe(0);
  });

  it('retries until the server becomes healthy', async () => {
    const { url, requests } = await serve((req, res, n) => reply(n <= 3 ? 503 : 200, 'ok')(req, res));
    const messages: Array<[number, string, boolean]> = [];
    const r = await runCheck(httpCheck(url), { ...ctx, onAttempt: (n, m, ok) => messages.push([n, m, ok]) });
    expect(r).toMatchObject({ ok: true, attempts: 4 });
    expect(requests()).toBe(4);
    expect(messages).toEqual([
      [1, `GET ${url} → 503 (expected 2xx); body: "ok"`, false],
      [2, `GET ${url} → 503 (expected 2xx); body: "ok"`, false],
      [3, `GET ${url} → 503 (expected 2xx); body: "ok"`, false],
      [4, `GET ${url} → 200`, true],
    ]);
  });

  it('needs success-threshold successes in a row, spaced by the interval', async () => {
    // 200, 503, 200, 200: the failure resets the streak.
    const { url } = await serve((req, res, n) => reply(n === 2 ? 503 : 200)(req, res));
    const r = await runCheck(httpCheck(url, { successThreshold: 2, intervalMs: 100 }), ctx);
    expect(r).toMatchObject({ ok: true, attempts: 4 });
    expect(r.durationMs).toBeGreaterThanOrEqual(290);
    expect(r.detail).toBe(`GET ${url} → 200 (2 successes in a row, 4 attempts)`);
  });

  it('fails when the threshold cannot be reached before the timeout', async () => {
    const { url } = await serve(reply(200));
    const r = await runCheck(httpCheck(url, { successThreshold: 5, intervalMs: 100, timeoutMs: 250 }), ctx);
    expect(r.ok).toBe(false);
    expect(r.detail.split('\n')[0]).toBe(
      `GET ${url} → 200, but only 3 of 5 successes in a row before the timeout`,
    );
  });

  it('says connection refused when nothing listens', async () => {
    const url = `http://127.0.0.1:${await freePort()}/health`;
    const r = await runCheck(httpCheck(url, { timeoutMs: 200 }), ctx);
    expect(r.ok).toBe(false);
    expect(r.detail.split('\n')[0]).toBe(`GET ${url} → connection refused`);
  });

  it('gives up on a request that never answers', async () => {
    const { url } = await serve(() => {
      /* never answer */
    });
    const started = Date.now();
    const r = await runCheck(httpCheck(url, { timeoutMs: 1200, intervalMs: 1000 }), ctx);
    expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
    expect(r.ok).toBe(false);
    // One attempt, cut at the timeout: no time is left for another.
    expect(r.attempts).toBe(1);
    expect(r.detail.split('\n')[0]).toBe(`GET ${url} → no answer within 1.2s`);
  });

  it('sends the method and headers', async () => {
    let seen: { method?: string; auth?: string } = {};
    const { url } = await serve((req, res) => {
      seen = { method: req.method, auth: req.headers.authorization };
      res.end();
    });
    const r = await runCheck(httpCheck(url, { method: 'head', headers: { Authorization: 'Bearer x' } }), ctx);
    expect(r.ok).toBe(true);
    expect(seen).toEqual({ method: 'HEAD', auth: 'Bearer x' });
  });

  it('follows redirects unless a 3xx is expected', async () => {
    const { url } = await serve((req, res) => {
      if (req.url === '/old') res.writeHead(302, { location: '/new' }).end();
      else res.end('new page');
    });
    expect((await runCheck(httpCheck(`${url}/old`, { contains: 'new page' }), ctx)).ok).toBe(true);
    expect((await runCheck(httpCheck(`${url}/old`, { status: [302] }), ctx)).ok).toBe(true);
  });

  it('reaches a server on a port that fetch refuses as "bad port" (6666, 6000, …)', async () => {
    // WHATWG fetch blocks these ports; a health endpoint may live on any of them.
    const { url } = await serveOnBlockedPort(reply(200, 'alive'));
    const r = await runCheck(httpCheck(`${url}/health`, { contains: 'alive' }), ctx);
    expect(r.detail).not.toMatch(/bad port/);
    expect(r.ok).toBe(true);
  });

  it('is cancelled promptly between attempts and during a hanging request', async () => {
    const down = await serve(reply(503));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    let started = Date.now();
    const r = await runCheck(httpCheck(down.url, { intervalMs: 1000, timeoutMs: 30_000 }), {
      ...ctx,
      signal: ac.signal,
    });
    expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
    expect(r).toMatchObject({ ok: false, cancelled: true, attempts: 1 });
    expect(r.detail).toBe(`cancelled; last attempt: GET ${down.url} → 503 (expected 2xx)`);

    const hang = await serve(() => {});
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 150);
    started = Date.now();
    const h = await runCheck(httpCheck(hang.url, { timeoutMs: 30_000 }), { ...ctx, signal: ac2.signal });
    expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
    expect(h).toMatchObject({ ok: false, cancelled: true, detail: 'cancelled' });
  });
});

describe('runChecks', () => {
  it('runs checks in order and stops at the first failure', async () => {
    const ok = await serve(reply(200));
    const bad = await serve(reply(500));
    const never = await serve(reply(200));
    const attempts: number[] = [];
    const r = await runChecks(
      [httpCheck(ok.url), httpCheck(bad.url, { timeoutMs: 0 }), httpCheck(never.url)],
      { ...ctx, onAttempt: (i) => attempts.push(i) },
    );
    expect(r.ok).toBe(false);
    expect(r.results.map((x) => x.ok)).toEqual([true, false]);
    expect(r.detail.split('\n')[0]).toBe(
      `FAILED http GET ${bad.url} (1 attempt(s)): GET ${bad.url} → 500 (expected 2xx)`,
    );
    expect(r.detail).toMatch(`ok http GET ${ok.url} (1 attempt(s))`);
    expect(r.results.map((x) => x.label)).toEqual([`http GET ${ok.url}`, `http GET ${bad.url}`]);
    expect(never.requests()).toBe(0);
    expect(attempts).toEqual([0, 1]);
  });

  it('labels checks for progress lines', () => {
    expect(checkLabel(httpCheck('http://h:1/health'))).toBe('http GET http://h:1/health');
    expect(checkLabel({ kind: 'tcp', port: 6661, intervalMs: 1, timeoutMs: 1 }, 'soup-a')).toBe(
      'tcp soup-a:6661',
    );
  });
});
