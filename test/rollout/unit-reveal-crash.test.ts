/**
 * `reveal: unit` under SIGKILL: the CLI is killed at random moments of deploys
 * that swap a unit folder. Right after each kill the unit is wholly its old or
 * its new version (never a mix, never missing); the next run recovers and the
 * target ends at the release it asked for, with no lock, journal or staging left.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Fleet } from './e2e-fixture.js';

const FILES = 200;
function release(v: number): Record<string, string> {
  const t: Record<string, string> = { 'packages/Q/manifest.v3': '<Values version="2.0"/>\n' };
  for (let i = 0; i < FILES; i++) t[`packages/P/ns/f${i}.json`] = `{"v":${v},"pad":"${'x'.repeat(200)}"}\n`;
  t['packages/P/manifest.v3'] = `<Values version="2.0"><value name="version">${v}</value></Values>\n`;
  if (v % 2 === 1) t['packages/P/ns/extra.json'] = `{"v":${v}}\n`;
  return t;
}

/** The unit's entries only (packages/P/…). */
const unitOf = (tree: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(tree).filter(([p]) => p === 'packages/P' || p.startsWith('packages/P/')));

let fleet: Fleet;
beforeEach(() => {
  fleet = new Fleet();
});
afterEach(async () => {
  await fleet.cleanup();
});

describe('reveal: unit, SIGKILL mid-deploy', () => {
  it('the unit is old or new after every kill, and the next run converges', async () => {
    fleet.release('v0', release(0));
    fleet.release('v1', release(1));
    fleet.writeConfig({
      source: 'workflows',
      mode: 'authoritative',
      units: { match: 'packages/*', reveal: 'unit' },
      targets: [{ name: 't', path: './targets/t' }],
    });
    const first = await fleet.deploy('v0');
    expect(first.code, first.stderr).toBe(0);
    const v0 = unitOf(fleet.tree('t', true));
    const warm = await fleet.deploy('v1');
    expect(warm.code, warm.stderr).toBe(0);
    const v1 = unitOf(fleet.tree('t', true));
    expect(v1).not.toEqual(v0);
    const took = warm.ms;
    let killed = 0;
    let tag = 'v1';
    for (let i = 0; i < 8; i++) {
      tag = tag === 'v1' ? 'v0' : 'v1';
      const run = fleet.start('deploy', ['--to', tag]);
      // Aim at the commit: from the backup (just before the journal) to a random moment after it.
      await new Promise<void>((resolve) => {
        const onData = (d: Buffer) => {
          if (!/\] (backup|commit|delete)/.test(d.toString())) return;
          run.child.stderr!.off('data', onData);
          resolve();
        };
        run.child.stderr!.on('data', onData);
        run.done.then(
          () => resolve(),
          () => resolve(),
        );
      });
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(took, 25)));
      if (run.child.exitCode === null) {
        run.child.kill('SIGKILL');
        killed++;
      }
      await run.done.catch(() => undefined); // a killed run writes no report
      const unit = unitOf(fleet.tree('t', true));
      expect(
        [v0, v1].some((v) => JSON.stringify(v) === JSON.stringify(unit)),
        `after kill ${i}: ${Object.keys(unit).length} entries`,
      ).toBe(true);
    }
    // The next run undoes (or finishes) the interrupted one, then deploys.
    const last = await fleet.deploy('v1');
    expect(last.code, last.stderr).toBe(0);
    expect(unitOf(fleet.tree('t', true))).toEqual(v1);
    expect(fleet.leftovers('t')).toEqual([]);
    expect(killed).toBeGreaterThan(0);
  }, 300_000);
});
