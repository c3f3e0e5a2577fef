/**
 * A unit's `run` (a command on this machine) tells the target's run before it starts
 * (UnitHost.commandRan): it may change the target's state folder, so the clean-up's census
 * (state-census.ts) is dropped, as for a `before` hook's `run` (ssh-clean-up-census.test.ts
 * tests that one end to end). A unit's `remote` does not call it: the fenced transport sees
 * that one itself. Real commands, run by the real hook runner; the host records the calls.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UnitRun, type UnitHost } from '../../src/rollout/unit-hooks.js';
import type { UnitsConfig } from '../../src/config/types.js';
import type { UnitsPlan } from '../../src/units/plan-units.js';
import { tempDir } from '../helpers/git.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A host whose steps run their function, recording the order of steps and commandRan calls. */
function host(dir: string, order: string[]): UnitHost {
  return {
    step: async (name, fn, unit) => {
      order.push(`${name} ${unit}`);
      const r = await fn();
      return typeof r === 'string' ? true : r.ok;
    },
    placeholders: () => ({ target: { name: 't', path: dir }, release: 'r', deployId: 'd' }) as never,
    env: () => ({ PATH: process.env.PATH ?? '' }),
    transport: () => ({
      exec: async () => ({ code: 0, signal: null, stdout: '', stderr: '', timedOut: false }),
    }),
    commandRan: () => order.push('commandRan'),
    expandCheck: (c) => c,
    host: () => 'localhost',
    cwd: dir,
    workDir: dir,
    target: 't',
  };
}

const plan: UnitsPlan = {
  deactivate: [{ name: 'Old', path: 'packages/Old', status: 'deleted', files: ['packages/Old/a'] }],
  activate: [{ name: 'New', path: 'packages/New', status: 'updated', files: ['packages/New/a'] }],
};

function units(over: Partial<UnitsConfig>): UnitsConfig {
  return {
    match: ['packages/*'],
    depends: { kind: 'none' },
    provided: [],
    reloadDependents: false,
    reveal: 'file',
    verify: [],
    ...over,
  };
}

describe("a unit's local command drops the clean-up's census first", () => {
  it('deactivate and activate with `run`: commandRan before each, and the commands ran', async () => {
    const dir = tempDir('diffship-unit-command-');
    dirs.push(dir);
    const order: string[] = [];
    const hook = (what: string) => ({
      run: `echo ${what} >> ${join(dir, 'ran')}`,
      timeoutMs: 10_000,
      settleMs: 0,
    });
    const run = new UnitRun(units({ deactivate: hook('off'), activate: hook('on') }), plan, host(dir, order));
    const signal = new AbortController().signal;
    expect(await run.deactivateAll(signal, signal)).toBe(true);
    expect(await run.activateAll(signal)).toBe(true);
    expect(order).toEqual(['commandRan', 'deactivate Old', 'commandRan', 'activate New']);
    expect(readFileSync(join(dir, 'ran'), 'utf8')).toBe('off\non\n');
  });

  it('`remote` only: commandRan is not called (the transport sees the command)', async () => {
    const dir = tempDir('diffship-unit-command-');
    dirs.push(dir);
    const order: string[] = [];
    const remote = { remote: 'true', timeoutMs: 10_000, settleMs: 0 };
    const run = new UnitRun(units({ deactivate: remote, activate: remote }), plan, host(dir, order));
    const signal = new AbortController().signal;
    expect(await run.deactivateAll(signal, signal)).toBe(true);
    expect(await run.activateAll(signal)).toBe(true);
    expect(order).toEqual(['deactivate Old', 'activate New']);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });
});
