/**
 * `diffship demo`, the README's first command, run as a user runs it: the
 * built CLI as a child process, no config, no server set up. It must exit 0
 * (v3 refused at the canary is the design), narrate each step, leave three
 * reports that say what happened, and stop its hosts — also on Ctrl-C.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types.js';
import { cliStart } from '../helpers/cli.js';
import { waitFor } from '../helpers/host.js';
import { tempDir } from '../helpers/git.js';
import { ROLLED_BACK_AND_VERIFIED_STEPS } from '../helpers/steps.js';

const cleanup: string[] = [];
afterAll(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

const readReport = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Report;
const statuses = (r: Report) => Object.fromEntries(r.targets.map((t) => [t.name, t.status]));

/** The hosts' URLs as the demo listed them. */
const hostUrls = (stdout: string) =>
  [...stdout.matchAll(/^ {2}host-[abc] {2}(http:\/\/127\.0\.0\.1:\d+)/gm)].map((m) => m[1]!);

async function refused(url: string): Promise<boolean> {
  return fetch(`${url}/status`, { signal: AbortSignal.timeout(1000) }).then(
    () => false,
    () => true,
  );
}

describe('diffship demo', () => {
  it('runs the whole story and exits 0: v1 everywhere, v2 canary first, v3 refused at the canary', async () => {
    const { done } = cliStart(process.cwd(), ['demo']);
    const run = await done;
    const dir = /^folder {3}(\S+)$/m.exec(run.stdout)?.[1];
    if (dir) cleanup.push(dir);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(dir).toBeDefined();

    // The narration, in order.
    const landmarks = [
      'diffship demo',
      '1/6  Start three example hosts',
      'host-c',
      'imports on restart only',
      '2/6  Build a git repository with three releases',
      'typo',
      '3/6  Roll out v1 to every host',
      '$ diffship deploy --repo repo --to v1 --waves 100% --max-parallel 3',
      'succeeded: deploy v1',
      '→ every host runs v1.',
      '4/6  Roll out v2, canary first',
      'succeeded: deploy v2',
      '5/6  Roll out v3, which is broken',
      'failed: deploy v3',
      'What each host runs now',
      '6/6  Deploy packages to a package server, one unit at a time',
      '$ diffship deploy --config packages.yml --repo packages-repo --to p2',
      'units: activate ~Orders → ~Billing',
      '$ diffship deploy --config packages.yml --repo packages-repo --to p3',
      'reload Customers',
      'reload Reports',
      'Reports loaded partial',
      'reload Reports',
      'Reports loaded yes',
      '→ Reports loaded partial and was rolled back by itself: its 1.0 files',
      'Customers 1.1 stays deployed',
      'The demo behaved as designed: v3 stopped at the canary; every host runs v2.',
      `reports  ${dir}/reports/v1.json`,
      `folder   ${dir}`,
      'hosts    stopped (host-a, host-b, host-c)',
    ];
    let at = 0;
    for (const l of landmarks) {
      const i = run.stdout.indexOf(l, at);
      expect(i, `"${l}" after position ${at} in:\n${run.stdout}`).toBeGreaterThanOrEqual(at);
      at = i + l.length;
    }
    expect(run.stdout).toMatch(
      /host-a {2}runs v2 {2}3 workflows {2}\/health 200 {2}in service {2}v3 failed, rolled back/,
    );
    expect(run.stdout).toMatch(/host-b {2}runs v2 .* never got v3/);
    expect(run.stdout).toMatch(/host-c {2}runs v2 .* never got v3/);
    // The CLI's live progress (plain lines off a TTY) on stderr.
    expect(run.stderr).toContain('wave 1: host-a');
    expect(run.stderr).toMatch(/\[host-a\] verify FAILED .*503/);

    // The reports say the same.
    const [r1, r2, r3] = ['v1', 'v2', 'v3'].map((v) => readReport(path.join(dir!, 'reports', `${v}.json`)));
    expect(r1).toMatchObject({
      command: 'deploy',
      status: 'succeeded',
      ref: 'v1',
      waves: [['host-a', 'host-b', 'host-c']],
    });
    expect(statuses(r1!)).toEqual({ 'host-a': 'deployed', 'host-b': 'deployed', 'host-c': 'deployed' });
    expect(r2).toMatchObject({ status: 'succeeded', ref: 'v2', waves: [['host-a'], ['host-b', 'host-c']] });
    for (const t of r2!.targets) {
      expect(t).toMatchObject({ status: 'deployed', from: r1!.to, to: r2!.to });
      expect(t.changes).toMatchObject({ added: ['billing-out.json'], updated: ['orders-in.json'] });
    }
    // host-c imports on restart: its activate was a command, the others' a settle.
    const activate = (r: Report, name: string) =>
      r.targets.find((t) => t.name === name)!.steps.find((s) => s.name === 'activate')!.detail;
    expect(activate(r2!, 'host-a')).toBe('settled 300ms');
    expect(activate(r2!, 'host-c')).not.toBe('settled 300ms');
    expect(r3).toMatchObject({ status: 'failed', ref: 'v3', waves: [['host-a'], ['host-b', 'host-c']] });
    expect(statuses(r3!)).toEqual({ 'host-a': 'rolled-back', 'host-b': 'skipped', 'host-c': 'skipped' });
    const canary = r3!.targets[0]!;
    expect(canary.error).toMatch(/^verify: FAILED http GET .*503/);
    expect(canary.steps.map((s) => s.name)).toEqual(ROLLED_BACK_AND_VERIFIED_STEPS);
    expect(canary.steps.find((s) => s.name === 'verify')!.detail).toContain('unknown type \\"transfrom\\"');

    // The folders: every host holds v2 (the canary restored byte for byte), and its state says so.
    const v2 = readFileSync(path.join(dir!, 'hosts/host-b/billing-out.json'), 'utf8');
    for (const h of ['host-a', 'host-b', 'host-c']) {
      expect(readFileSync(path.join(dir!, 'hosts', h, 'billing-out.json'), 'utf8')).toBe(v2);
      const state = JSON.parse(readFileSync(path.join(dir!, 'hosts', h, '.diffship/state.json'), 'utf8'));
      expect(state.release).toBe(r2!.to);
      expect(existsSync(path.join(dir!, 'hosts', h, '.diffship/lock.json'))).toBe(false);
    }
    expect(v2).not.toContain('transfrom');
    expect(readFileSync(path.join(dir!, 'diffship.yml'), 'utf8')).toContain("contains: 'release: {release}'");

    // Every host was stopped.
    const urls = hostUrls(run.stdout);
    expect(urls).toHaveLength(3);
    for (const url of urls) expect(await refused(url)).toBe(true);
    for (const h of ['host-a', 'host-b', 'host-c'])
      expect(readFileSync(path.join(dir!, 'logs', `${h}.log`), 'utf8')).toContain(
        `[${h}] stopping (SIGTERM)`,
      );
  });

  it('Ctrl-C in the middle of a rollout: it is rolled back, the hosts stop, exit 1 (--no-progress)', async () => {
    const dir = path.join(tempDir('diffship-demo-test-'), 'demo');
    cleanup.push(path.dirname(dir));
    const { child, done } = cliStart(process.cwd(), ['demo', '--dir', dir, '--no-progress']);
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    // v3's canary is being verified (its check can only fail, after 4 s).
    await waitFor(() => stdout.includes('$ diffship deploy --repo repo --to v3'), 60_000, 'the v3 rollout');
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const run = await done;
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
    expect(run.stderr).toContain('SIGINT: stopping the demo');
    expect(run.stderr).toContain('diffship: demo interrupted; the rollout in flight was rolled back');
    expect(run.stdout).not.toContain('behaved as designed');
    expect(run.stdout).toContain('hosts    stopped (host-a, host-b, host-c)');
    // --no-progress: none of the rollouts' progress lines; the summary tables still on stdout.
    expect(run.stderr).not.toMatch(/wave \d|\[host-a\]/);
    expect(run.stdout).toContain('succeeded: deploy v2');

    const r3 = readReport(path.join(dir, 'reports/v3.json'));
    expect(r3.status).toBe('cancelled');
    expect(statuses(r3)).toMatchObject({ 'host-b': 'skipped', 'host-c': 'skipped' });
    expect(['rolled-back', 'failed']).toContain(statuses(r3)['host-a']);
    const v2 = readFileSync(path.join(dir, 'hosts/host-b/billing-out.json'), 'utf8');
    expect(readFileSync(path.join(dir, 'hosts/host-a/billing-out.json'), 'utf8')).toBe(v2);
    expect(existsSync(path.join(dir, 'hosts/host-a/.diffship/lock.json'))).toBe(false);
    for (const url of hostUrls(run.stdout)) expect(await refused(url)).toBe(true);
  });

  it('refuses a --dir that is not empty, before starting anything', async () => {
    const dir = tempDir('diffship-demo-test-');
    cleanup.push(dir);
    mkdirSync(path.join(dir, 'mine'));
    writeFileSync(path.join(dir, 'mine/file'), 'keep');
    const run = await cliStart(process.cwd(), ['demo', '--dir', dir]).done;
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`diffship: --dir ${dir} is not empty — give an empty or new folder\n`);
    expect(readFileSync(path.join(dir, 'mine/file'), 'utf8')).toBe('keep');
  });
});
