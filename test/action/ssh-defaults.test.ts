import { describe, expect, it } from 'vitest';
import { withSshDefaults } from '../../src/action/ssh-defaults.js';
import type { ResolvedConfig, SshOptions, TargetConfig } from '../../src/config/types.js';

function ssh(name: string, options: Partial<SshOptions> = {}): TargetConfig {
  return {
    name,
    type: 'ssh',
    path: '/srv/app',
    host: `${name}.internal`,
    labels: [],
    vars: {},
    ssh: {
      host: `${name}.internal`,
      port: 22,
      user: 'deploy',
      strictHostKey: true,
      connectTimeoutMs: 10_000,
      ...options,
    },
    hooks: { verify: [] },
  };
}

function config(targets: TargetConfig[]): ResolvedConfig {
  return {
    file: null,
    baseDir: '/repo',
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
    timeoutMs: 1_800_000,
    renames: true,
    targets,
    secrets: ['existing'],
  };
}

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n';
const HOSTS = 'x.internal ssh-ed25519 AAAA\n';

describe('withSshDefaults', () => {
  it('fills in only what a target does not set itself', () => {
    const local: TargetConfig = { ...ssh('dev'), type: 'local', ssh: undefined, path: '/tmp/dev' };
    const input = config([
      ssh('bare'),
      ssh('own-file', { identityFile: '/home/me/.ssh/id' }),
      ssh('own-key', { privateKey: 'OWN', knownHosts: 'own hosts' }),
      local,
    ]);
    const out = withSshDefaults(input, { privateKey: KEY, knownHosts: HOSTS });
    const byName = Object.fromEntries(out.targets.map((t) => [t.name, t]));
    expect(byName.bare?.ssh).toMatchObject({ privateKey: KEY, knownHosts: HOSTS });
    expect(byName['own-file']?.ssh?.privateKey).toBeUndefined();
    expect(byName['own-file']?.ssh?.knownHosts).toBe(HOSTS);
    expect(byName['own-key']?.ssh).toMatchObject({ privateKey: 'OWN', knownHosts: 'own hosts' });
    expect(byName.dev).toBe(local);
    expect(out.secrets).toEqual(['existing', KEY, HOSTS]);
  });

  it('does not change the config it was given', () => {
    const input = config([ssh('bare')]);
    withSshDefaults(input, { privateKey: KEY });
    expect(input.targets[0]?.ssh?.privateKey).toBeUndefined();
    expect(input.secrets).toEqual(['existing']);
  });

  it('returns the config as is without defaults', () => {
    const input = config([ssh('bare')]);
    expect(withSshDefaults(input, {})).toBe(input);
  });
});
