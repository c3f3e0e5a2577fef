/**
 * What a GitHub runner gives an action, for tests: INPUT_* variables, the
 * GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, RUNNER_TEMP; and readers for
 * what the action leaves in them.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

export interface RunnerFiles {
  dir: string;
  output: string;
  summary: string;
  temp: string;
  cleanup(): void;
}

export function runnerFiles(): RunnerFiles {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffship-runner-'));
  const output = path.join(dir, 'github_output');
  const summary = path.join(dir, 'step_summary');
  const temp = path.join(dir, 'runner_temp');
  fs.writeFileSync(output, '');
  fs.writeFileSync(summary, '');
  fs.mkdirSync(temp);
  return { dir, output, summary, temp, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** INPUT_<NAME uppercased, spaces to _, dashes kept>, as the runner names them. */
export function inputEnv(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(inputs).map(([name, value]) => [`INPUT_${name.replace(/ /g, '_').toUpperCase()}`, value]),
  );
}

/** Parse a GITHUB_OUTPUT file (`name<<delimiter\nvalue\ndelimiter`) into name → value; last write wins. */
export function readOutputs(file: string): Record<string, string> {
  const text = fs.readFileSync(file, 'utf8');
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const head = /^([^<=]+)<<(.+)$/.exec(lines[i] ?? '');
    if (!head) continue;
    const [, name, delimiter] = head;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? '');
    out[name!] = value.join('\n');
  }
  return out;
}

interface FakeComment {
  id: number;
  body: string;
}

/** A GitHub REST API on 127.0.0.1 with just the issue-comment endpoints the action uses. */
export async function fakeGitHub(owner: string, repo: string, issue: number) {
  const comments: FakeComment[] = [{ id: 1, body: 'Looks good to me' }];
  const requests: string[] = [];
  let nextId = 100;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      requests.push(`${req.method} ${url.pathname} ${req.headers.authorization ?? ''}`);
      // A fork PR's token: reading works, writing is refused, as on GitHub.
      if (req.method !== 'GET' && req.headers.authorization === 'token read-only') {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Resource not accessible by integration' }));
        return;
      }
      const send = (status: number, data: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(data));
      };
      const list = `/repos/${owner}/${repo}/issues/${issue}/comments`;
      const one = new RegExp(`^/repos/${owner}/${repo}/issues/comments/(\\d+)$`).exec(url.pathname);
      const html = (id: number) => `https://github.com/${owner}/${repo}/pull/${issue}#issuecomment-${id}`;
      if (req.method === 'GET' && url.pathname === list) return send(200, comments);
      if (req.method === 'POST' && url.pathname === list) {
        const comment = { id: nextId++, body: JSON.parse(body).body as string };
        comments.push(comment);
        return send(201, { ...comment, html_url: html(comment.id) });
      }
      if (req.method === 'PATCH' && one) {
        const comment = comments.find((c) => c.id === Number(one[1]));
        if (!comment) return send(404, { message: 'Not Found' });
        comment.body = JSON.parse(body).body as string;
        return send(200, { ...comment, html_url: html(comment.id) });
      }
      send(404, { message: `no route ${req.method} ${url.pathname}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    comments,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
