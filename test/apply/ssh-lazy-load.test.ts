/**
 * ssh2 is loaded only when an SSH target connects (it costs ~35 ms of start-up):
 * `import 'diffship'` and a local-only deploy through the CLI never load it.
 * A module hook preloaded into the real CLI process records every file it
 * resolves under node_modules/ssh2; a plan on an ssh target is the control
 * that shows the hook does see ssh2 when it is loaded.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { makeRepo, snapshot } from '../helpers/repo.js';
import { git, tempDir } from '../helpers/git.js';

/** Preloaded with --import: records the ssh2 files resolved (by import or require) and writes them at exit. */
const DETECTOR = `
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const seen = new Set();
registerHooks({
  resolve(specifier, context, next) {
    const result = next(specifier, context);
    if (/[\\\\/]node_modules[\\\\/]ssh2[\\\\/]/.test(result.url)) seen.add(result.url);
    return result;
  },
});
process.on('exit', () => writeFileSync(process.env.DIFFSHIP_TEST_SEEN, JSON.stringify([...seen])));
`;

let ws: string;
let repo: ReturnType<typeof makeRepo>;
let detector: string;

beforeAll(() => {
  ws = tempDir('diffship-lazy-');
  detector = join(ws, 'detector.mjs');
  writeFileSync(detector, DETECTOR);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(ws, 'key')]);
  repo = makeRepo();
  repo.commit({ 'a.json': 'a\n', 'sub/b.json': 'b\n' });
  git(repo.dir, 'tag', 'v1');
  writeFileSync(
    join(ws, 'diffship.yml'),
    [
      'targets:',
      '  - { name: here, type: local, path: ./target }',
      // Nothing listens on port 1: the connection is refused, after ssh2 was loaded to try it.
      '  - { name: far, type: ssh, host: 127.0.0.1, port: 1, user: nobody, path: /srv/x, identity-file: ./key, strict-host-key: false }',
      '',
    ].join('\n'),
  );
});
afterAll(() => {
  repo.cleanup();
  rmSync(ws, { recursive: true, force: true });
});

/** Run node with the detector preloaded; returns the process result and the ssh2 files it loaded. */
function traced(args: string[], name: string) {
  const seenFile = join(ws, `${name}.json`);
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(detector).href, ...args], {
    cwd: ws,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', DIFFSHIP_TEST_SEEN: seenFile },
    timeout: 60_000,
  });
  const seen = JSON.parse(readFileSync(seenFile, 'utf8')) as string[];
  return { r, seen };
}

describe('ssh2 is loaded lazily', () => {
  it('a local deploy through the CLI does not load ssh2', () => {
    const { r, seen } = traced(
      [BIN, 'deploy', '--repo', repo.dir, '--to', 'v1', '--targets', 'here'],
      'local',
    );
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(snapshot(join(ws, 'target'))).toEqual(snapshot(repo.dir, ['.git']));
    expect(seen).toEqual([]);
  });

  it("import 'diffship' does not load ssh2", () => {
    const entry = pathToFileURL(join(BIN, '../../lib/index.js')).href;
    const { r, seen } = traced(
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(entry)}); console.log(typeof m.deploy);`,
      ],
      'import',
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('function');
    expect(seen).toEqual([]);
  });

  it('an ssh target does load it, just its client (the control: the hook sees ssh2 when it is used)', () => {
    const { r, seen } = traced([BIN, 'plan', '--repo', repo.dir, '--to', 'v1', '--targets', 'far'], 'ssh');
    expect(r.status).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/connection refused; is sshd listening on port 1\?/);
    expect(seen.some((url) => url.endsWith('/node_modules/ssh2/lib/client.js'))).toBe(true);
    // Only the client's files: not ssh2's index, which loads its server and HTTP agents too.
    for (const file of ['index.js', 'server.js', 'http-agents.js', 'keygen.js'])
      expect(seen.filter((url) => url.endsWith(`/node_modules/ssh2/lib/${file}`))).toEqual([]);
  });
});
