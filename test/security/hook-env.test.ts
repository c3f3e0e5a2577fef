/**
 * Attack: a hook or command check reads the runner's secrets from its own
 * environment. The child's /proc/$$/environ is read, not `env`: dash hides
 * names like INPUT_SSH-PRIVATE-KEY from `env` but they are still there.
 * Run against the built action with a runner-like environment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, runAction, type Fixture } from './action-harness.js';

const KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ-ACTION-KEY\n-----END OPENSSH PRIVATE KEY-----\n';
const CONFIG_KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nQ09ORklHLUtFWS1GUk9NLUVOVi1WQVJJQUJMRQ-CONFIG-KEY\n-----END OPENSSH PRIVATE KEY-----\n';
const TOKEN = 'ghs_FAKEtoken0123456789abcdefghijkl';
const DUMP = "tr '\\0' '\\n' < /proc/$$/environ >";

function config(passEnv = ''): string {
  return `source: app
${passEnv}
targets:
  - name: web-1
    path: ../hosts/web-1
    before:
      run: ${DUMP} ../hook-env.txt
    activate:
      remote: ${DUMP} ../../remote-env.txt
    verify:
      - command:
          run: ${DUMP} ../check-env.txt
  - name: prod
    type: ssh
    host: 127.0.0.1
    user: deploy
    path: /srv/app
    private-key: \${DEPLOY_K}
    passphrase: \${DEPLOY_PP}
`;
}

/** Secrets of the runner and of the config, each under its own and under an innocent name. */
const RUNNER_ENV = {
  ACTIONS_RUNTIME_TOKEN: 'runtime-token-SECRET-1',
  RUNTIME_COPY: 'runtime-token-SECRET-1',
  ACTIONS_RUNTIME_URL: 'https://pipelines.example/SECRET-2/',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc-token-SECRET-3',
  ACTIONS_ID_TOKEN_REQUEST_URL: 'https://oidc.example/SECRET-4',
  ACTIONS_RESULTS_URL: 'https://results.example/SECRET-5',
  ACTIONS_CACHE_URL: 'https://cache.example/SECRET-6',
  DEPLOY_K: CONFIG_KEY,
  DEPLOY_PP: 'passphrase-SECRET-7',
  KEY_COPY: KEY,
  GH_TOKEN: TOKEN,
  PLAIN_VAR: 'plain-value',
};

let fx: Fixture | undefined;
afterEach(() => fx?.cleanup());

function environ(file: string): Map<string, string> {
  const text = fs.readFileSync(file, 'utf8');
  const vars = new Map<string, string>();
  let name = '';
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_-]*)=(.*)$/.exec(line);
    if (m) vars.set((name = m[1]!), m[2]!);
    else if (name) vars.set(name, `${vars.get(name)}\n${line}`); // a multi-line value
  }
  return vars;
}

const SECRET_TEXT = [
  'SECRET-',
  'ACTION-KEY',
  'CONFIG-KEY',
  TOKEN,
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ',
];

describe('hooks and command checks get no runner secrets', () => {
  it('run, remote (local target) and a command check see no INPUT_*, ACTIONS_* token/URL, key, passphrase or token', async () => {
    fx = fixture(config());
    const run = await runAction(
      fx,
      { targets: 'web-1', 'ssh-private-key': KEY, 'github-token': TOKEN },
      RUNNER_ENV,
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    for (const dump of ['hook-env.txt', 'remote-env.txt', 'check-env.txt']) {
      const file = path.join(fx.root, dump);
      const text = fs.readFileSync(file, 'utf8');
      const vars = environ(file);
      expect(
        [...vars.keys()].filter((n) => n.startsWith('INPUT_')),
        dump,
      ).toEqual([]);
      for (const name of Object.keys(RUNNER_ENV).filter((n) => n !== 'PLAIN_VAR'))
        expect(vars.has(name), `${dump}: ${name}`).toBe(false);
      for (const name of ['GITHUB_OUTPUT', 'GITHUB_STEP_SUMMARY'])
        expect(vars.has(name), `${dump}: ${name}`).toBe(false);
      for (const secret of SECRET_TEXT) expect(text, `${dump}: ${secret}`).not.toContain(secret);
      // What a hook needs is still there.
      expect(vars.get('PLAIN_VAR'), dump).toBe('plain-value');
      expect(vars.get('DIFFSHIP_TARGET'), dump).toBe('web-1');
      expect(vars.has('PATH'), dump).toBe(true);
    }
  });

  it('pass-env lets named variables through, and only those', async () => {
    fx = fixture(config('pass-env: [ACTIONS_RESULTS_URL, INPUT_CONF*]'));
    const run = await runAction(fx, { targets: 'web-1', 'ssh-private-key': KEY }, RUNNER_ENV);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const vars = environ(path.join(fx.root, 'hook-env.txt'));
    expect(vars.get('ACTIONS_RESULTS_URL')).toBe(RUNNER_ENV.ACTIONS_RESULTS_URL);
    expect(vars.get('INPUT_CONFIG')).toBe('diffship.yml');
    expect(vars.has('INPUT_SSH-PRIVATE-KEY')).toBe(false);
    expect(vars.has('ACTIONS_CACHE_URL')).toBe(false);
    expect(vars.has('DEPLOY_K')).toBe(false);
  });

  it('a bad pass-env entry is a one-line config error naming the key', async () => {
    fx = fixture(config('pass-env: ["$(id)"]'));
    const run = await runAction(fx, { targets: 'web-1' }, RUNNER_ENV);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/::error::.*pass-env\[0\].*expected a variable name/);
  });
});
