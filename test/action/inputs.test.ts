import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_REPORT_ARTIFACT, inputName, readSettings, secretPieces } from '../../src/action/inputs.js';
import { withOverrides } from '../../src/config/overrides.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { DiffshipError } from '../../src/errors.js';

/** Set inputs the way the runner does: INPUT_<NAME uppercased, spaces to _, dashes kept>. */
function inputs(values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values))
    vi.stubEnv(`INPUT_${name.replace(/ /g, '_').toUpperCase()}`, value);
}

function errorOf(fn: () => unknown): DiffshipError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DiffshipError) return error;
    throw error;
  }
  throw new Error('expected a DiffshipError');
}

const KEY = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  'QyNTUxOQAAACBsZWNyZXQtbGluZS10d28tb2YtdGhlLWtleS1mb3ItdGVzdHM=',
  'AAA',
  '-----END OPENSSH PRIVATE KEY-----',
].join('\r\n');

describe('readSettings', () => {
  beforeEach(() => {
    // Start from a clean slate whatever the machine running the tests has set.
    for (const name of Object.keys(process.env)) if (name.startsWith('INPUT_')) vi.stubEnv(name, undefined);
    vi.stubEnv('GITHUB_WORKSPACE', '/work/space');
    vi.stubEnv('GITHUB_SHA', 'c0ffee'.padEnd(40, '0'));
  });
  afterEach(() => vi.unstubAllEnvs());

  it('has the documented defaults', () => {
    const settings = readSettings();
    expect(settings).toEqual({
      command: 'deploy',
      repo: path.resolve('/work/space'),
      configFile: path.resolve('/work/space/diffship.yml'),
      to: 'c0ffee'.padEnd(40, '0'),
      dir: undefined,
      releaseName: undefined,
      fromManifest: false,
      assumeEmpty: false,
      targets: undefined,
      mode: undefined,
      dryRun: false,
      waves: undefined,
      maxParallel: undefined,
      sshPrivateKey: undefined,
      sshKnownHosts: undefined,
      githubToken: undefined,
      comment: false,
      reportArtifact: DEFAULT_REPORT_ARTIFACT,
    });
  });

  it('falls back to HEAD when neither to nor GITHUB_SHA is set', () => {
    vi.stubEnv('GITHUB_SHA', undefined);
    expect(readSettings().to).toBe('HEAD');
  });

  it('reads every input', () => {
    inputs({
      command: 'Plan',
      config: 'deploy/diffship.yml',
      'working-directory': 'app',
      to: 'v1.4.0',
      targets: 'soup-a, label:eu\nsoup-c',
      mode: 'authoritative',
      'dry-run': 'true',
      waves: '1,50%,100%',
      'max-parallel': '8',
      'github-token': 'ghs_token',
      comment: 'True',
      'report-artifact': 'my-report',
    });
    const settings = readSettings();
    expect(settings).toMatchObject({
      command: 'plan',
      repo: path.resolve('/work/space/app'),
      configFile: path.resolve('/work/space/app/deploy/diffship.yml'),
      to: 'v1.4.0',
      targets: ['soup-a', 'label:eu', 'soup-c'],
      mode: 'authoritative',
      dryRun: true,
      waves: '1,50%,100%',
      maxParallel: '8',
      githubToken: 'ghs_token',
      comment: true,
      reportArtifact: 'my-report',
    });
  });

  it('reads a built folder, its release name and the plan basis inputs', () => {
    inputs({
      'working-directory': 'app',
      dir: 'build/carbonapps',
      'release-name': 'build-77',
      'from-manifest': 'true',
    });
    expect(readSettings()).toMatchObject({
      dir: path.resolve('/work/space/app/build/carbonapps'),
      releaseName: 'build-77',
      fromManifest: true,
      assumeEmpty: false,
    });
  });

  it.each([
    [{ dir: 'build', to: 'v1' }, 'Inputs dir and to both name the release'],
    [
      { 'from-manifest': 'true', 'assume-empty': 'true' },
      'Inputs from-manifest and assume-empty are both "true"',
    ],
    [{ 'release-name': 'a\nb' }, 'Input release-name is "a\\nb"'],
    // Inserted into {release} unquoted: a space or a shell character would split or run.
    [{ 'release-name': 'build 77' }, 'Input release-name is "build 77"'],
    [{ 'release-name': '$(touch x)' }, 'Input release-name is "$(touch x)"'],
  ])('refuses contradicting or bad release inputs: %j', (given, message) => {
    inputs(given);
    expect(() => readSettings()).toThrow(message);
  });

  it('keeps an absolute config path as given', () => {
    inputs({ config: '/etc/diffship.yml' });
    expect(readSettings().configFile).toBe(path.resolve('/etc/diffship.yml'));
  });

  it('disables the artifact when report-artifact is set to empty', () => {
    inputs({ 'report-artifact': '' });
    expect(readSettings().reportArtifact).toBe('');
  });

  it.each([
    ['command', 'deplyo', 'Input command is "deplyo": expected one of deploy, plan, rollback, status.'],
    ['mode', 'mirror', 'Input mode is "mirror": expected one of additive, authoritative.'],
    ['max-parallel', '0', 'Input max-parallel: expected a count of 1 or more (got "0")'],
    ['max-parallel', 'four', 'Input max-parallel: expected a count of 1 or more (got "four")'],
    ['max-parallel', '2.5', 'Input max-parallel: expected a count of 1 or more (got "2.5")'],
    ['dry-run', 'yes', 'Input dry-run is "yes": expected true or false.'],
    ['comment', '1', 'Input comment is "1": expected true or false.'],
  ])('refuses %s=%s with one line naming input and value', (name, value, message) => {
    inputs({ [name]: value });
    const error = errorOf(() => readSettings());
    expect(error.code).toBe('E_USAGE');
    expect(error.message).toBe(message);
    expect(error.message).not.toContain('\n');
  });

  it('refuses dry-run with rollback or status', () => {
    inputs({ command: 'rollback', 'dry-run': 'true' });
    expect(errorOf(() => readSettings()).message).toBe(
      'Input dry-run is "true" with command rollback: a dry run exists for deploy only (it equals plan).',
    );
  });

  it('hands every line of the key to onSecret, before a bad input stops the reading', () => {
    inputs({
      'ssh-private-key': KEY,
      'ssh-known-hosts': 'host.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK',
      command: 'nope',
    });
    const masked: string[] = [];
    expect(() => readSettings({ onSecret: (s) => masked.push(s) })).toThrow(/Input command/);
    expect(masked).toContain(KEY);
    for (const line of KEY.split('\r\n').filter((l) => l.length >= 4)) expect(masked).toContain(line);
    expect(masked).toContain('host.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK');
  });

  it('normalises the key to LF with one final newline, and keeps it in memory only', () => {
    inputs({ 'ssh-private-key': `${KEY}\r\n\r\n`, 'ssh-known-hosts': '  h ssh-ed25519 AAAA\n' });
    const settings = readSettings();
    expect(settings.sshPrivateKey).toBe(KEY.replace(/\r\n/g, '\n') + '\n');
    expect(settings.sshKnownHosts).toBe('h ssh-ed25519 AAAA\n');
  });
});

describe('the waves input', () => {
  const base = resolveConfig({ targets: [{ name: 'a', path: './a' }] }, { baseDir: '/repo', env: {} });
  /** What the action does with the input: read it, then let withOverrides check and apply it. */
  const wavesOf = (text: string) => {
    inputs({ waves: text });
    return withOverrides(base, { waves: readSettings().waves }, { name: inputName }).waves;
  };

  it.each([
    ['1,50%,100%', [{ count: 1 }, { percent: 50 }, { percent: 100 }]],
    ['1 25% 100%', [{ count: 1 }, { percent: 25 }, { percent: 100 }]],
    ['[1, "50%", 100%]', [{ count: 1 }, { percent: 50 }, { percent: 100 }]],
    ['- 2\n- 10%\n', [{ count: 2 }, { percent: 10 }]],
    ['100%', [{ percent: 100 }]],
    ['12.5%', [{ percent: 12.5 }]],
  ])('reads %j', (text, expected) => {
    expect(wavesOf(text)).toEqual(expected);
  });

  it("keeps the config's waves when empty", () => {
    expect(wavesOf('  ')).toEqual(base.waves);
  });

  // "0" is refused as the CLI's --waves refuses it: one rule for both (config/count-or-percent.ts).
  it.each(['1,half', '150%', '0%', '-1', '[1, {a: 2}]', '1.5', '0'])(
    'refuses %j in readSettings, before the library runs, naming the input',
    (text) => {
      inputs({ waves: text });
      const error = errorOf(() => readSettings());
      expect(error.code).toBe('E_USAGE');
      expect(error.message).toMatch(/^Input waves: expected counts or "N%"/);
      expect(error.message).toContain(text.startsWith('[') ? '{\\"a\\":2}' : JSON.stringify(text));
    },
  );

  it('refuses broken YAML in one line', () => {
    inputs({ waves: '[1, "50%' });
    const error = errorOf(() => readSettings());
    expect(error.message).toMatch(/^Input waves is "\[1, \\"50%": not a valid YAML list/);
    expect(error.message).not.toContain('\n');
  });
});

describe('secretPieces', () => {
  it('is the whole value and each line of 4 characters or more', () => {
    expect(secretPieces('abc\nlonger-line\n\n  spaced line  \nxy')).toEqual([
      'abc\nlonger-line\n\n  spaced line  \nxy',
      'longer-line',
      'spaced line',
    ]);
    expect(secretPieces('one-line-token')).toEqual(['one-line-token']);
    expect(secretPieces('   ')).toEqual([]);
  });
});
