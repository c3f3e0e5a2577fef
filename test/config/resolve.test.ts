import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { ConfigValidationError } from '../../src/config/problems.js';
import { loadText, tempDir, testEnv } from './helpers.js';

const KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';

describe('defaults (SPEC §2)', () => {
  it('fills every top-level default', async () => {
    const { config, dir } = await loadText('targets:\n  - { name: dev, path: ./deploy/dev }\n');
    expect(config).toMatchObject({
      file: path.join(dir, 'diffship.yml'),
      baseDir: dir,
      source: '.',
      include: [],
      exclude: [],
      mode: 'additive',
      protect: [],
      stateDir: '.diffship',
      onDrift: 'fail',
      waves: [{ count: 1 }, { percent: 100 }],
      maxParallel: 4,
      maxFailures: { count: 0 },
      rollback: 'target',
      timeoutMs: 30 * 60_000,
      renames: true,
      secrets: [],
      warnings: [],
    });
    expect(config.maxDeletes).toBeUndefined();
    expect(config.targets).toEqual([
      {
        name: 'dev',
        type: 'local',
        path: path.join(dir, 'deploy/dev'),
        host: 'localhost',
        labels: [],
        vars: {},
        hooks: { verify: [] },
      },
    ]);
  });

  it('takes every top-level key as written', async () => {
    const { config } = await loadText(`
source: workflows/
include: ["**/*.xml"]
exclude: "**/*.draft.xml"
mode: authoritative
protect: ["local/**"]
state-dir: .state/diffship
on-drift: overwrite
max-deletes: 10
waves: [1, "50%", "100%"]
max-parallel: 2
max-failures: "10%"
rollback: all
timeout: 10m
renames: false
targets:
  - { name: dev, path: ./deploy/dev, labels: [eu, canary], vars: { http_port: 8080, debug: true } }
`);
    expect(config).toMatchObject({
      source: 'workflows',
      include: ['**/*.xml'],
      exclude: ['**/*.draft.xml'],
      mode: 'authoritative',
      protect: ['local/**'],
      stateDir: '.state/diffship',
      onDrift: 'overwrite',
      maxDeletes: 10,
      waves: [{ count: 1 }, { percent: 50 }, { percent: 100 }],
      maxParallel: 2,
      maxFailures: { percent: 10 },
      rollback: 'all',
      timeoutMs: 600_000,
      renames: false,
    });
    expect(config.targets[0]).toMatchObject({
      labels: ['eu', 'canary'],
      vars: { http_port: '8080', debug: 'true' },
    });
  });

  it('accepts a single wave size', async () => {
    const { config } = await loadText('waves: "25%"\ntargets: [{ name: a, path: a }]\n');
    expect(config.waves).toEqual([{ percent: 25 }]);
    const two = await loadText('waves: 2\nmax-failures: 1\ntargets: [{ name: a, path: a }]\n');
    expect(two.config.waves).toEqual([{ count: 2 }]);
    expect(two.config.maxFailures).toEqual({ count: 1 });
  });

  it('fills hook and check defaults', async () => {
    const { config } = await loadText(`
targets:
  - name: dev
    path: ./dev
    port: 9000
    before: { run: "./lb drain {name}" }
    activate: { settle: 5s }
    verify:
      - http: { url: "http://{host}:{port}/health" }
      - tcp: { port: 6661 }
      - command: { remote: "./check" }
    after: { remote: "./lb enable", timeout: 10s, settle: 500ms }
`);
    expect(config.targets[0]!.hooks).toEqual({
      before: { run: './lb drain {name}', timeoutMs: 300_000, settleMs: 0 },
      activate: { timeoutMs: 300_000, settleMs: 5000 },
      after: { remote: './lb enable', timeoutMs: 10_000, settleMs: 500 },
      verify: [
        {
          kind: 'http',
          url: 'http://{host}:{port}/health',
          method: 'GET',
          headers: {},
          status: ['2xx'],
          intervalMs: 2000,
          timeoutMs: 60_000,
          successThreshold: 1,
        },
        { kind: 'tcp', host: 'localhost', port: 6661, intervalMs: 1000, timeoutMs: 30_000 },
        { kind: 'command', remote: './check', intervalMs: 2000, timeoutMs: 30_000 },
      ],
    });
  });

  it('takes every check key as written', async () => {
    const { config } = await loadText(`
targets:
  - name: dev
    path: ./dev
    vars: { http_port: 8081 }
    verify:
      - http:
          url: "https://{host}:{vars.http_port}/v"
          method: post
          headers: { X-Release: "{release}" }
          status: [200, "204", "3XX"]
          contains: "{release}"
          matches: "^v\\\\d{3}"
          interval: 1s
          timeout: 1m
          success-threshold: 3
      - tcp: { host: db.internal, port: "{vars.http_port}", interval: 250ms, timeout: 5 }
`);
    expect(config.targets[0]!.hooks.verify).toEqual([
      {
        kind: 'http',
        url: 'https://{host}:{vars.http_port}/v',
        method: 'POST',
        headers: { 'X-Release': '{release}' },
        status: [200, 204, '3xx'],
        contains: '{release}',
        matches: '^v\\d{3}',
        intervalMs: 1000,
        timeoutMs: 60_000,
        successThreshold: 3,
      },
      { kind: 'tcp', host: 'db.internal', port: 8081, intervalMs: 250, timeoutMs: 5000 },
    ]);
  });
});

describe('defaults merged into targets', () => {
  const text = `
defaults:
  before: { run: "./lb drain {name}" }
  activate: { remote: "systemctl restart soup", settle: 5s }
  verify:
    - tcp: { port: 6661 }
  after: { run: "./lb enable {name}" }
targets:
  - name: plain
    path: ./plain
  - name: own
    path: ./own
    before: { run: "./own-drain" }
    verify:
      - command: { run: "./own-check" }
  - name: none
    path: ./none
    verify: []
`;

  it("gives every target the default hooks, the target's own keys winning", async () => {
    const { config } = await loadText(text);
    const [plain, own, none] = config.targets;
    expect(plain!.hooks.before).toEqual({ run: './lb drain {name}', timeoutMs: 300_000, settleMs: 0 });
    expect(plain!.hooks.activate).toEqual({
      remote: 'systemctl restart soup',
      timeoutMs: 300_000,
      settleMs: 5000,
    });
    expect(plain!.hooks.after).toEqual({ run: './lb enable {name}', timeoutMs: 300_000, settleMs: 0 });
    expect(plain!.hooks.verify.map((c) => c.kind)).toEqual(['tcp']);

    expect(own!.hooks.before).toEqual({ run: './own-drain', timeoutMs: 300_000, settleMs: 0 });
    expect(own!.hooks.after).toEqual(plain!.hooks.after);
    // The target's verify list replaces the defaults' list, it is not appended.
    expect(own!.hooks.verify.map((c) => c.kind)).toEqual(['command']);

    expect(none!.hooks.verify).toEqual([]);
    expect(none!.hooks.before).toEqual(plain!.hooks.before);
  });
});

describe('paths', () => {
  it('resolves local paths against the config file folder, not the working directory', async () => {
    const { config, dir, home } = await loadText(`
targets:
  - { name: a, path: deploy/a }
  - { name: b, path: ../elsewhere/b }
  - { name: c, path: /srv/c/ }
  - { name: d, path: ~/deploy/d }
`);
    expect(config.targets.map((t) => t.path)).toEqual([
      path.join(dir, 'deploy/a'),
      path.join(path.dirname(dir), 'elsewhere/b'),
      '/srv/c',
      path.join(home, 'deploy/d'),
    ]);
  });

  it('resolves against baseDir for a config built in code', () => {
    const config = resolveConfig(
      { targets: [{ name: 'dev', path: './deploy/dev' }] },
      { baseDir: '/repo', env: {} },
    );
    expect(config.file).toBeNull();
    expect(config.baseDir).toBe('/repo');
    expect(config.targets[0]!.path).toBe('/repo/deploy/dev');
  });

  it('normalizes source and state-dir', async () => {
    const { config } = await loadText('source: ./a/b/\nstate-dir: ./.d/\ntargets: [{ name: a, path: a }]\n');
    expect(config.source).toBe('a/b');
    expect(config.stateDir).toBe('.d');
  });

  it('warns when a local target holds the config folder in additive mode', async () => {
    const { config, dir } = await loadText('targets: [{ name: a, path: . }]\n', {
      HOME: '/nonexistent-home',
    });
    expect(config.warnings).toEqual([`targets[0].path: ${dir} holds the config folder ${dir}`]);
  });
});

describe('ssh targets', () => {
  it('fills ssh defaults', async () => {
    const { config } = await loadText(
      'targets: [{ name: s, type: ssh, host: s.internal, path: /opt/s/ }]\n',
      {
        HOME: '/nonexistent-home',
        USER: 'alice',
        SSH_AUTH_SOCK: '/tmp/agent.sock',
      },
    );
    expect(config.targets[0]).toEqual({
      name: 's',
      type: 'ssh',
      path: '/opt/s',
      host: 's.internal',
      port: 22,
      labels: [],
      vars: {},
      hooks: { verify: [] },
      ssh: {
        host: 's.internal',
        port: 22,
        user: 'alice',
        agent: '/tmp/agent.sock',
        strictHostKey: true,
        connectTimeoutMs: 20_000,
        replyTimeoutMs: 30_000,
      },
    });
  });

  it('takes every ssh key as written, expanding ~ and reading known-hosts from a file', async () => {
    const dir = await tempDir();
    const home = path.join(dir, 'home');
    await fs.mkdir(path.join(home, '.ssh'), { recursive: true });
    await fs.writeFile(path.join(home, '.ssh', 'deploy_ed25519'), KEY);
    await fs.writeFile(path.join(home, '.ssh', 'known_hosts'), 's.internal ssh-ed25519 AAAAfile\n');
    const file = path.join(dir, 'diffship.yml');
    await fs.writeFile(
      file,
      `
targets:
  - name: s
    type: ssh
    host: s.internal
    port: "2222"
    user: deploy
    path: /opt/s
    identity-file: ~/.ssh/deploy_ed25519
    passphrase: "\${KEY_PASS}"
    known-hosts: ~/.ssh/known_hosts
    strict-host-key: false
    proxy-jump: jump@bastion:22
    connect-timeout: 5s
    reply-timeout: 2m
    agent: false
`,
    );
    const { loadConfig } = await import('../../src/config/load.js');
    const config = await loadConfig(file, {
      env: testEnv(home, { KEY_PASS: 'open-sesame', SSH_AUTH_SOCK: '/a.sock' }),
    });
    expect(config.targets[0]!.port).toBe(2222);
    expect(config.targets[0]!.ssh).toEqual({
      host: 's.internal',
      port: 2222,
      user: 'deploy',
      identityFile: path.join(home, '.ssh/deploy_ed25519'),
      passphrase: 'open-sesame',
      knownHosts: 's.internal ssh-ed25519 AAAAfile\n',
      strictHostKey: false,
      proxyJump: 'jump@bastion:22',
      connectTimeoutMs: 5000,
      replyTimeoutMs: 120_000,
    });
    expect(config.secrets).toEqual(['open-sesame']);
  });

  it('takes known-hosts lines inline', async () => {
    const { config } = await loadText(`
targets:
  - name: one
    type: ssh
    host: a
    path: /opt/a
    known-hosts: "a ssh-ed25519 AAAAone"
  - name: many
    type: ssh
    host: b
    path: /opt/b
    known-hosts: |
      b ssh-ed25519 AAAAb
      @cert-authority *.internal ssh-ed25519 AAAAca
`);
    expect(config.targets[0]!.ssh!.knownHosts).toBe('a ssh-ed25519 AAAAone\n');
    expect(config.targets[1]!.ssh!.knownHosts).toBe(
      'b ssh-ed25519 AAAAb\n@cert-authority *.internal ssh-ed25519 AAAAca\n',
    );
  });

  it('collects private keys and passphrases as secrets, with the agent off by default when a key is given', async () => {
    const { config } = await loadText(
      `
targets:
  - name: s
    type: ssh
    host: s
    path: /opt/s
    private-key: \${SSH_KEY}
    passphrase: literal-passphrase
`,
      { HOME: '/x', USER: 'u', SSH_KEY: KEY, SSH_AUTH_SOCK: '/a.sock' },
    );
    expect(config.targets[0]!.ssh!.privateKey).toBe(KEY);
    expect(config.targets[0]!.ssh!.agent).toBeUndefined();
    expect(config.secrets).toContain(KEY);
    expect(config.secrets).toContain('literal-passphrase');
  });

  it('takes agent: true from SSH_AUTH_SOCK and a socket path as is', async () => {
    const { config } = await loadText(
      `
targets:
  - { name: a, type: ssh, host: a, path: /opt/a, agent: true }
  - { name: b, type: ssh, host: b, path: /opt/b, agent: /run/agent.sock }
`,
      { HOME: '/x', USER: 'u', SSH_AUTH_SOCK: '/a.sock' },
    );
    expect(config.targets.map((t) => t.ssh!.agent)).toEqual(['/a.sock', '/run/agent.sock']);
  });

  it('masks secrets in problem messages', async () => {
    try {
      await loadText('targets: [{ name: s, type: ssh, host: s, path: /opt/s, port: "${DB_PASSWORD}" }]\n', {
        HOME: '/x',
        DB_PASSWORD: 'hunter2-pw',
      });
      expect.fail('should have been refused');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigValidationError);
      expect((error as Error).message).toContain(
        'targets[0].port: expected a port number (1-65535) (got "***")',
      );
      expect((error as Error).message).not.toContain('hunter2-pw');
    }
  });
});

describe('environment', () => {
  it('expands ${VAR} before validation, so a port may come from the environment', async () => {
    const { config } = await loadText(
      'targets: [{ name: "${NAME}", type: ssh, host: "${HOST}", port: "${PORT}", path: "/opt/${NAME}" }]\n',
      { HOME: '/x', USER: 'u', NAME: 'web', HOST: 'web.internal', PORT: '2200', API_TOKEN: 'unused' },
    );
    expect(config.targets[0]).toMatchObject({
      name: 'web',
      host: 'web.internal',
      port: 2200,
      path: '/opt/web',
    });
    expect(config.secrets).toEqual([]);
  });

  it('collects expanded secret variables', async () => {
    const { config } = await loadText(
      'targets: [{ name: a, path: a, verify: [{ http: { url: "http://x", headers: { Authorization: "Bearer ${API_TOKEN}" } } }] }]\n',
      { HOME: '/x', API_TOKEN: 'tok-123' },
    );
    expect(config.secrets).toEqual(['tok-123']);
    expect(config.targets[0]!.hooks.verify[0]).toMatchObject({
      headers: { Authorization: 'Bearer tok-123' },
    });
  });
});

describe('hostile values', () => {
  it('keeps a var named __proto__ a plain var', async () => {
    const { config } = await loadText('targets: [{ name: a, path: a, vars: { __proto__: x, ok: y } }]\n');
    const vars = config.targets[0]!.vars;
    expect(Object.getPrototypeOf(vars)).toBe(Object.prototype);
    expect(Object.hasOwn(vars, 'ok')).toBe(true);
  });
});
