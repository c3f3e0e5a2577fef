import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const action = parse(fs.readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as {
  runs: { using: string; main: string };
  branding: { icon: string; color: string };
  inputs: Record<string, { description: string; default?: string; required?: boolean }>;
  outputs: Record<string, { description: string }>;
};

// SPEC §7.
const SPEC_INPUTS = [
  'command',
  'config',
  'to',
  'targets',
  'mode',
  'dry-run',
  'waves',
  'max-parallel',
  'ssh-private-key',
  'ssh-known-hosts',
  'github-token',
  'comment',
  'report-artifact',
];
const SPEC_OUTPUTS = [
  'status',
  'changed',
  'added',
  'updated',
  'deleted',
  'renamed',
  'deployed-targets',
  'failed-targets',
  'report',
  'matrix',
  'units',
];

describe('action.yml', () => {
  it('runs the bundle on node24', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
    expect(action.branding.icon).toBeTruthy();
  });

  it('declares every SPEC input with a description and a default', () => {
    for (const name of SPEC_INPUTS) {
      const input = action.inputs[name];
      expect(input, name).toBeDefined();
      expect(input!.description.length, name).toBeGreaterThan(20);
      expect(typeof input!.default, name).toBe('string');
    }
    expect(action.inputs.command!.default).toBe('deploy');
    expect(action.inputs['github-token']!.default).toBe('${{ github.token }}');
    expect(action.inputs['report-artifact']!.default).toBe('diffship-report');
  });

  it('declares every SPEC output with a description', () => {
    expect(Object.keys(action.outputs)).toEqual(SPEC_OUTPUTS);
    for (const name of SPEC_OUTPUTS)
      expect(action.outputs[name]!.description.length, name).toBeGreaterThan(20);
  });

  it('reads every declared input in src/action/inputs.ts, and no other', () => {
    const source = fs.readFileSync(path.join(ROOT, 'src/action/inputs.ts'), 'utf8');
    const read = [...source.matchAll(/core\.getInput\('([^']+)'/g)].map((m) => m[1]);
    expect(new Set(read)).toEqual(new Set(Object.keys(action.inputs)));
  });

  it('sets every declared output in src/action/outputs.ts', () => {
    const source = fs.readFileSync(path.join(ROOT, 'src/action/outputs.ts'), 'utf8');
    const body = source.slice(
      source.indexOf('export interface ActionOutputs'),
      source.indexOf('}', source.indexOf('export interface ActionOutputs')),
    );
    const names = [...body.matchAll(/^\s+'?([a-z-]+)'?:/gm)].map((m) => m[1]);
    expect(names).toEqual(SPEC_OUTPUTS);
  });
});

describe('scripts/action-docs.mjs', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A copy of the script next to action.yml and a README with markers, in a temp folder. */
  function sandbox(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffship-docs-'));
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, 'scripts'));
    fs.mkdirSync(path.join(dir, 'docs'));
    fs.copyFileSync(path.join(ROOT, 'scripts/action-docs.mjs'), path.join(dir, 'scripts/action-docs.mjs'));
    fs.copyFileSync(path.join(ROOT, 'action.yml'), path.join(dir, 'action.yml'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    fs.writeFileSync(
      path.join(dir, 'README.md'),
      '# x\n\n<!-- action-docs:start -->\nold\n<!-- action-docs:end -->\n\nafter\n',
    );
    return dir;
  }

  const node = (dir: string, ...args: string[]) =>
    spawnSync(process.execPath, [path.join(dir, 'scripts/action-docs.mjs'), ...args], {
      cwd: dir,
      encoding: 'utf8',
    });

  it('writes the tables between the markers, and --check passes afterwards', () => {
    const dir = sandbox();
    expect(node(dir, '--check').status).toBe(1);
    const write = node(dir);
    expect(write.status, write.stderr).toBe(0);
    const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(readme).not.toContain('\nold\n');
    expect(readme).toMatch(/^# x\n\n<!-- action-docs:start -->\n/);
    expect(readme).toMatch(/<!-- action-docs:end -->\n\nafter\n$/);
    // Cells are padded by prettier, so that `prettier --check` agrees with the script.
    expect(readme).toMatch(/^\| `command` +\| `deploy` +\| What to run/m);
    expect(readme).toMatch(/^\| `github-token` +\| `\$\{\{ github\.token \}\}` +\|/m);
    expect(readme).toMatch(/^\| `to` +\| `""` +\|/m);
    expect(readme).toMatch(/^\| `matrix` +\|/m);
    expect(readme).toContain('`pull-requests: write`');
    expect(write.stderr).toContain('docs/action.md does not exist');
    expect(node(dir, '--check').status).toBe(0);
  });

  it('keeps the real README and docs/action.md in step with action.yml', () => {
    const check = spawnSync(process.execPath, ['scripts/action-docs.mjs', '--check'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(check.status, check.stderr).toBe(0);
    expect(fs.readFileSync(path.join(ROOT, 'docs/action.md'), 'utf8')).toContain(
      '<!-- action-docs:start -->',
    );
  });
});

describe('workflows', () => {
  const files = [
    ...fs
      .readdirSync(path.join(ROOT, '.github/workflows/examples'))
      .map((f) => `.github/workflows/examples/${f}`),
    '.github/workflows/check-dist.yml',
    '.github/workflows/ci.yml',
  ];

  it('has the four example workflows', () => {
    expect(files.filter((f) => f.includes('/examples/')).sort()).toEqual([
      '.github/workflows/examples/deploy-on-tag.yml',
      '.github/workflows/examples/fleet.yml',
      '.github/workflows/examples/manual.yml',
      '.github/workflows/examples/pr-plan.yml',
    ]);
  });

  it('pins every third-party action by full commit SHA with a version comment', () => {
    let pinned = 0;
    for (const file of files) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      for (const [, ref, comment] of text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)) {
        if (ref === './' || ref!.startsWith('diffship/diffship@')) continue;
        expect(ref, `${file}: ${ref}`).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
        expect(comment, `${file}: ${ref}`).toMatch(/^ # v\d/);
        pinned++;
      }
    }
    expect(pinned).toBeGreaterThanOrEqual(8);
  });

  // Each SHA was checked against the action's release (Dependabot bumps and
  // tag listings of the action's repository); a new pin goes here once checked.
  const VERIFIED_PINS: Record<string, string> = {
    'actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683': 'v4.2.2',
    'actions/setup-node@39370e3970a6d050c480ffad4ff0ed4d3fdee5af': 'v4.1.0',
    'actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020': 'v4.4.0',
    'actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02': 'v4.6.2',
  };

  it('pins only checked SHAs, each with the version it is', () => {
    for (const file of files) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      for (const [, ref, version] of text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+@[0-9a-f]{40}) # (\S+)/gm)) {
        expect(VERIFIED_PINS[ref!], `${file}: ${ref} is not a checked pin`).toBeDefined();
        expect(version, `${file}: ${ref}`).toBe(VERIFIED_PINS[ref!]);
      }
    }
  });

  it('runs the action from a fresh build in ci.yml (uses: ./ plan, then deploy) beside the test job', () => {
    const ci = parse(fs.readFileSync(path.join(ROOT, '.github/workflows/ci.yml'), 'utf8'));
    expect(ci.jobs.test.steps.at(-1).run).toBe('sudo bash .ci/run');
    const steps = ci.jobs.action.steps as Array<{
      run?: string;
      uses?: string;
      id?: string;
      with?: Record<string, string>;
      env?: Record<string, string>;
    }>;
    const build = steps.findIndex((s) => s.run === 'npm ci && npm run bundle');
    const local = steps.filter((s) => s.uses === './');
    expect(build).toBeGreaterThan(-1);
    expect(steps.findIndex((s) => s.uses === './')).toBeGreaterThan(build);
    expect(local.map((s) => [s.id, s.with?.command ?? 'deploy'])).toEqual([
      ['plan', 'plan'],
      ['deploy', 'deploy'],
    ]);
    const checks = JSON.stringify(steps.filter((s) => s.env));
    expect(checks).toContain('${{ steps.plan.outputs.status }}');
    expect(checks).toContain('${{ steps.deploy.outputs.status }}');
  });

  it('runs the large fleet one wave per job, gated after the canary, never overlapping', () => {
    const fleet = parse(fs.readFileSync(path.join(ROOT, '.github/workflows/examples/fleet.yml'), 'utf8'));
    expect(fleet.concurrency).toEqual({ group: 'diffship-fleet', 'cancel-in-progress': false });
    expect(fleet.jobs.plan.outputs.matrix).toBe('${{ steps.plan.outputs.matrix }}');
    const wave = fleet.jobs.wave;
    expect(wave.strategy['max-parallel']).toBe(1);
    expect(wave.strategy.matrix).toBe('${{ fromJSON(needs.plan.outputs.matrix) }}');
    expect(wave.environment).toContain("matrix.wave == 0 && 'canary' || 'production'");
  });

  it('gives the manual workflow the inputs targets, ref, command and dry-run', () => {
    const manual = parse(fs.readFileSync(path.join(ROOT, '.github/workflows/examples/manual.yml'), 'utf8'));
    const inputs = manual.on.workflow_dispatch.inputs;
    expect(Object.keys(inputs).sort()).toEqual(['command', 'dry-run', 'ref', 'targets']);
    expect(inputs.command.options).toEqual(['plan', 'deploy', 'rollback', 'status']);
  });

  it('is valid YAML that git tracks as text', () => {
    for (const file of files)
      expect(() => parse(fs.readFileSync(path.join(ROOT, file), 'utf8')), file).not.toThrow();
    expect(
      execFileSync('git', ['check-attr', 'binary', '--', ...files], { cwd: ROOT, encoding: 'utf8' }),
    ).not.toMatch(/binary: set/);
  });
});
