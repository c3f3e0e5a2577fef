import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigValidationError } from '../../src/config/problems.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { exitCodeFor } from '../../src/errors.js';
import { problemsOf, tempDir } from './helpers.js';

const T = (target: string) => `targets:\n  - ${target}\n`;

/** Each bad config and the exact problem it must produce (among others, when several). */
const CASES: Array<[string, string, string]> = [
  ['missing targets', 'mode: additive\n', 'targets: required'],
  ['empty targets', 'targets: []\n', 'targets: expected at least one target'],
  ['targets not a list', 'targets: { a: 1 }\n', 'targets: expected a list of targets (got a mapping)'],
  [
    'a missing path',
    'targets:\n  - { name: a, path: a }\n  - { name: b, path: b }\n  - { name: c }\n',
    'targets[2].path: required',
  ],
  ['a missing name', T('{ path: a }'), 'targets[0].name: required'],
  [
    'a bad name',
    T('{ name: "a b", path: a }'),
    'targets[0].name: expected letters, digits, ".", "_" or "-", starting with a letter or digit (got "a b")',
  ],
  [
    'a bad mode',
    `mode: overwrite\n${T('{ name: a, path: a }')}`,
    'mode: expected one of additive, authoritative (got "overwrite")',
  ],
  [
    'a bad on-drift',
    `on-drift: overwrit\n${T('{ name: a, path: a }')}`,
    'on-drift: expected one of fail, overwrite, skip (got "overwrit")',
  ],
  [
    'a bad rollback',
    `rollback: some\n${T('{ name: a, path: a }')}`,
    'rollback: expected one of target, all, none (got "some")',
  ],
  [
    'a bad type',
    T('{ name: a, path: a, type: ftp }'),
    'targets[0].type: expected one of local, ssh (got "ftp")',
  ],
  [
    'a bad duration',
    `timeout: fast\n${T('{ name: a, path: a }')}`,
    'timeout: expected a duration like 500ms, 2s, 1m, 1h or a number of seconds (got "fast")',
  ],
  [
    'a zero timeout',
    `timeout: 0s\n${T('{ name: a, path: a }')}`,
    'timeout: expected a duration above 0 (got "0s")',
  ],
  [
    'a bad nested duration',
    T('{ name: a, path: a, verify: [{ http: { url: "http://x", interval: soon } }] }'),
    'targets[0].verify[0].http.interval: expected a duration like 500ms, 2s, 1m, 1h or a number of seconds (got "soon")',
  ],
  [
    'a bad wave in a list',
    `waves: [1, "abc"]\n${T('{ name: a, path: a }')}`,
    'waves[1]: expected a count or "N%" (got "abc")',
  ],
  [
    'a zero wave',
    `waves: [0]\n${T('{ name: a, path: a }')}`,
    'waves[0]: expected a count above 0 or "N%" (got 0)',
  ],
  [
    'a wave over 100%',
    `waves: [1, "150%"]\n${T('{ name: a, path: a }')}`,
    'waves[1]: expected a percentage above 0% up to 100% (got "150%")',
  ],
  [
    'a 0% wave',
    `waves: "0%"\n${T('{ name: a, path: a }')}`,
    'waves: expected a percentage above 0% up to 100% (got "0%")',
  ],
  ['an empty wave list', `waves: []\n${T('{ name: a, path: a }')}`, 'waves: expected at least one wave size'],
  [
    'bad max-failures',
    `max-failures: many\n${T('{ name: a, path: a }')}`,
    'max-failures: expected a count or "N%" (got "many")',
  ],
  [
    'bad max-parallel',
    `max-parallel: 0\n${T('{ name: a, path: a }')}`,
    'max-parallel: expected a positive count (got 0)',
  ],
  [
    'bad max-deletes',
    `max-deletes: -1\n${T('{ name: a, path: a }')}`,
    'max-deletes: expected a count (got -1)',
  ],
  [
    'a top-level unknown key',
    `wave: [1]\n${T('{ name: a, path: a }')}`,
    'wave: unknown key — did you mean "waves"?',
  ],
  [
    'an unknown target key',
    T('{ name: a, path: a, hsot: x }'),
    'targets[0].hsot: unknown key — did you mean "host"?',
  ],
  ['an unknown key without a hint', T('{ name: a, path: a, banana: x }'), 'targets[0].banana: unknown key'],
  [
    'a snake_case key',
    `state_dir: x\n${T('{ name: a, path: a }')}`,
    'state_dir: unknown key — did you mean "state-dir"?',
  ],
  [
    'an unknown hook key',
    `defaults:\n  before: { rn: x }\n${T('{ name: a, path: a }')}`,
    'defaults.before.rn: unknown key — did you mean "run"?',
  ],
  [
    'an unknown check kind',
    T('{ name: a, path: a, verify: [{ htp: { url: x } }] }'),
    'targets[0].verify[0].htp: unknown key — did you mean "http"?',
  ],
  [
    'two check kinds in one item',
    T('{ name: a, path: a, verify: [{ tcp: { port: 1 }, command: { run: x } }] }'),
    'targets[0].verify[0]: expected exactly one of http, tcp, command',
  ],
  [
    'a check without url',
    T('{ name: a, path: a, verify: [{ http: {} }] }'),
    'targets[0].verify[0].http.url: required',
  ],
  [
    'a check url that is not http',
    T('{ name: a, path: a, verify: [{ http: { url: "ftp://x" } }] }'),
    'targets[0].verify[0].http.url: expected an http:// or https:// URL (got "ftp://x")',
  ],
  [
    'a bad status',
    T('{ name: a, path: a, verify: [{ http: { url: "http://x", status: [200, 700] } }] }'),
    'targets[0].verify[0].http.status[1]: expected a status 100-599 or a class like "2xx" (got 700)',
  ],
  [
    'a bad regex',
    T('{ name: a, path: a, verify: [{ http: { url: "http://x", matches: "(" } }] }'),
    'targets[0].verify[0].http.matches: expected a regular expression (Invalid regular expression: /(/: Unterminated group)',
  ],
  [
    'a command check with both run and remote',
    T('{ name: a, path: a, verify: [{ command: { run: x, remote: y } }] }'),
    'targets[0].verify[0].command: expected run or remote (one of them)',
  ],
  [
    'an empty hook',
    `defaults:\n  after: {}\n${T('{ name: a, path: a }')}`,
    'defaults.after: expected run, remote or settle',
  ],
  [
    'a bad tcp port',
    T('{ name: a, path: a, verify: [{ tcp: { port: 70000 } }] }'),
    'targets[0].verify[0].tcp.port: expected a port number (1-65535) (got 70000)',
  ],
  [
    'duplicate names',
    'targets:\n  - { name: a, path: x }\n  - { name: a, path: y }\n',
    'targets[1].name: duplicate name "a" (also targets[0])',
  ],
  [
    'two targets on one folder',
    'targets:\n  - { name: a, path: x }\n  - { name: b, path: ./x/ }\n',
    'targets[1].path: same folder as targets[0] (a)',
  ],
  [
    'an empty path',
    T('{ name: a, path: "" }'),
    'targets[0].path: refused: an empty path (give the target folder)',
  ],
  [
    'a blank path',
    T('{ name: a, path: "  " }'),
    'targets[0].path: refused: an empty path (give the target folder)',
  ],
  [
    'a null path',
    T('{ name: a, path: ~ }'),
    'targets[0].path: expected a folder path (got null — in YAML an empty value or ~ is null; quote it)',
  ],
  ['the root', T('{ name: a, path: / }'), 'targets[0].path: refused: "/" is the filesystem root'],
  [
    'the root via ..',
    T('{ name: a, path: "/srv/../" }'),
    'targets[0].path: refused: "/" is the filesystem root',
  ],
  [
    '/root',
    T('{ name: a, path: /root }'),
    'targets[0].path: refused: "/root" is a home folder (use a folder inside it)',
  ],
  [
    '/home',
    T('{ name: a, path: /home }'),
    'targets[0].path: refused: "/home" holds home folders (use a folder inside one)',
  ],
  [
    'a user home',
    T('{ name: a, path: /home/deploy/ }'),
    'targets[0].path: refused: "/home/deploy" is a home folder (use a folder inside it)',
  ],
  [
    'ssh root',
    T('{ name: a, type: ssh, host: h, path: / }'),
    'targets[0].path: refused: "/" is the filesystem root',
  ],
  [
    'ssh ~',
    T('{ name: a, type: ssh, host: h, path: "~" }'),
    'targets[0].path: refused: "~" is the home folder (use an absolute folder inside it)',
  ],
  [
    'ssh ~/',
    T('{ name: a, type: ssh, host: h, path: "~/" }'),
    'targets[0].path: refused: "~/" is the home folder (use an absolute folder inside it)',
  ],
  [
    'ssh relative',
    T('{ name: a, type: ssh, host: h, path: "~/app" }'),
    'targets[0].path: expected an absolute path on the host (got "~/app"; ~ is not expanded)',
  ],
  [
    'ssh /home/user',
    T('{ name: a, type: ssh, host: h, path: /home/deploy }'),
    'targets[0].path: refused: "/home/deploy" is a home folder (use a folder inside it)',
  ],
  [
    'ssh host with a user',
    T('{ name: a, type: ssh, host: deploy@h, path: /opt/a }'),
    'targets[0].host: expected a host name or address (got "deploy@h"; the user goes in user:)',
  ],
  [
    'ssh without host',
    T('{ name: a, type: ssh, path: /opt/a }'),
    'targets[0].host: required for ssh targets',
  ],
  [
    'ssh keys without type',
    T('{ name: a, host: h, user: u, path: /opt/a }'),
    'targets[0]: has host, user but no type: add "type: ssh" (or "type: local" to use host only for {host})',
  ],
  [
    'ssh keys on a local target',
    T('{ name: a, type: local, user: u, path: a }'),
    'targets[0].user: only for ssh targets (type: ssh)',
  ],
  [
    'a private key that is a path',
    T('{ name: a, type: ssh, host: h, path: /opt/a, private-key: ~/.ssh/id_rsa }'),
    'targets[0].private-key: expected the key text ("-----BEGIN ... PRIVATE KEY-----"); for a key file use identity-file',
  ],
  [
    'a bad ssh port',
    T('{ name: a, type: ssh, host: h, port: abc, path: /opt/a }'),
    'targets[0].port: expected a port number (1-65535) (got "abc")',
  ],
  [
    'an absolute source',
    `source: /src\n${T('{ name: a, path: a }')}`,
    'source: expected a relative folder (got "/src")',
  ],
  [
    'a source with ..',
    `source: a/../../b\n${T('{ name: a, path: a }')}`,
    'source: must not contain ".." (got "a/../../b")',
  ],
  [
    'a state-dir with ..',
    `state-dir: ../state\n${T('{ name: a, path: a }')}`,
    'state-dir: must not contain ".." (got "../state")',
  ],
  [
    'an absolute state-dir',
    `state-dir: /var/state\n${T('{ name: a, path: a }')}`,
    'state-dir: expected a relative folder (got "/var/state")',
  ],
  [
    'state-dir "."',
    `state-dir: .\n${T('{ name: a, path: a }')}`,
    'state-dir: expected a folder name inside the target, not "."',
  ],
  [
    'a non-string glob',
    `include: [1]\n${T('{ name: a, path: a }')}`,
    'include[0]: expected a glob (a string) (got a whole number)',
  ],
  [
    'an empty glob',
    `protect: ["a", ""]\n${T('{ name: a, path: a }')}`,
    'protect[1]: expected a glob, not ""',
  ],
  [
    'an unknown placeholder',
    T('{ name: a, path: a, before: { run: "drain {nmae}" } }'),
    'targets[0].before.run: unknown placeholder {nmae} — did you mean {name}?',
  ],
  [
    'an unknown var in a default',
    `defaults:\n  verify:\n    - http: { url: "http://{host}:{vars.nope}/" }\n${T('{ name: a, path: a }')}`,
    'defaults.verify[0].http.url: unknown placeholder {vars.nope}: target "a" has no var "nope" (it has no vars)',
  ],
  [
    '{port} on a local target without port',
    T('{ name: a, path: a, verify: [{ http: { url: "http://{host}:{port}/" } }] }'),
    'targets[0].verify[0].http.url: placeholder {port}: target "a" has no port (set port: on the target)',
  ],
  [
    '{release} in a tcp port',
    T('{ name: a, path: a, verify: [{ tcp: { port: "{release}" } }] }'),
    'targets[0].verify[0].tcp.port: placeholder {release} used where no release is known',
  ],
  [
    'an unset variable',
    T('{ name: a, path: "${DEPLOY_DIR}" }'),
    'targets[0].path: environment variable DEPLOY_DIR is not set',
  ],
  ['an empty file', '', 'the config is empty: expected a mapping with at least "targets"'],
  ['a list instead of a mapping', '- a\n- b\n', 'expected a mapping (got a list)'],
];

describe('bad configs name the key path and what was expected', () => {
  it.each(CASES)('%s', async (_label, text, expected) => {
    const problems = await problemsOf(text, { HOME: '/nonexistent-home', USER: 'u' });
    expect(problems).toContain(expected);
  });

  it('reports a missing identity file with its resolved path', async () => {
    const problems = await problemsOf(
      T('{ name: a, type: ssh, host: h, path: /opt/a, identity-file: ~/.ssh/missing }'),
      {
        HOME: '/nonexistent-home',
      },
    );
    expect(problems).toContain('targets[0].identity-file: file not found: /nonexistent-home/.ssh/missing');
  });

  it('reports a missing known-hosts file with its resolved path', async () => {
    const problems = await problemsOf(T('{ name: a, type: ssh, host: h, path: /opt/a, known-hosts: ./kh }'));
    expect(
      problems.some((p) =>
        /^targets\[0\]\.known-hosts: file not found: .*\/kh \(give a known_hosts file or its lines\)$/.test(
          p,
        ),
      ),
    ).toBe(true);
  });

  it('refuses the running user home folder, wherever it is', async () => {
    const home = await tempDir();
    const problems = await problemsOf(T(`{ name: a, path: "${home}" }`), { HOME: home });
    expect(problems).toContain(
      `targets[0].path: refused: ${JSON.stringify(home)} is a home folder (use a folder inside it)`,
    );
    const parent = await problemsOf(T(`{ name: a, path: "${path.dirname(home)}" }`), { HOME: home });
    expect(parent).toContain(
      `targets[0].path: refused: ${JSON.stringify(path.dirname(home))} holds home folders (use a folder inside one)`,
    );
  });

  it('refuses a target holding the config folder in authoritative mode', async () => {
    const problems = await problemsOf(`mode: authoritative\n${T('{ name: a, path: . }')}`, {
      HOME: '/nonexistent-home',
    });
    expect(
      problems.some(
        (p) =>
          p.startsWith('targets[0].path: refused: ') && p.endsWith('an authoritative deploy would delete it'),
      ),
    ).toBe(true);
  });

  it('lists every problem at once, in file order, with line numbers, in one error', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'diffship.yml');
    await fs.writeFile(
      file,
      'mode: overwrite\ntargets:\n  - name: a\n    path: a\n  - name: c\n    hsot: x\n',
    );
    const error = await loadConfig(file, { env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigValidationError);
    const e = error as ConfigValidationError;
    expect(e.code).toBe('E_CONFIG');
    expect(exitCodeFor(e)).toBe(2);
    expect(e.problems.map((p) => [p.path, p.message, p.line])).toEqual(
      [
        ['mode', 'expected one of additive, authoritative (got "overwrite")', 1],
        ['targets[1].hsot', 'unknown key — did you mean "host"?', 6],
        ['targets[1].path', 'required', 5],
      ].sort((a, b) => (a[2] as number) - (b[2] as number)),
    );
    expect(e.message).toBe(
      `Invalid ${file} (3 problems):\n` +
        '  mode: expected one of additive, authoritative (got "overwrite") (line 1)\n' +
        '  targets[1].path: required (line 5)\n' +
        '  targets[1].hsot: unknown key — did you mean "host"? (line 6)',
    );
  });

  it('gives a one-line message for a single problem', () => {
    expect(() => resolveConfig({ targets: [{ name: 'a' }] }, { env: {} })).toThrow(
      /^Invalid config: targets\[0\]\.path: required$/,
    );
  });
});
