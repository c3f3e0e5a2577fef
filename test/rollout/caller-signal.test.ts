/**
 * A library caller's own AbortSignal, passed to deploy() with more targets in flight than
 * Node's default of 10 listeners: the rollout follows it with one listener (followCaller),
 * so the caller's signal never sees Node's "possible memory leak" warning, and nothing is
 * left listening on it once the deploy returns. Cancelling through it still works.
 */
import { getEventListeners } from 'node:events';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deploy, loadConfig } from '../../src/index.js';
import { tempDir } from '../helpers/git.js';
import { makeRepo } from '../helpers/repo.js';

const TARGETS = 20;

describe("library: the caller's signal with a wide fleet", () => {
  const repo = makeRepo();
  const work = tempDir('diffship-caller-signal-');
  afterAll(() => {
    repo.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it('gets one listener at most, none afterwards, and no MaxListeners warning', async () => {
    const names = Array.from({ length: TARGETS }, (_, i) => `t${i}`);
    writeFileSync(
      join(work, 'diffship.yml'),
      [
        'source: wf',
        "waves: ['100%']",
        `max-parallel: ${TARGETS}`,
        'defaults:',
        '  before: { run: "true" }',
        'targets:',
        ...names.map((n) => `  - { name: ${n}, path: ./t/${n} }`),
        '',
      ].join('\n'),
    );
    const config = await loadConfig(join(work, 'diffship.yml'));
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const caller = new AbortController();
    let most = 0;
    try {
      for (const to of [
        repo.commit({ 'wf/a.json': 'a1\n' }),
        repo.commit({ 'wf/a.json': 'a2\n', 'wf/b.json': 'b2\n' }),
      ]) {
        const going = deploy({ config, repo: repo.dir, to, signal: caller.signal });
        const watch = setInterval(
          () => (most = Math.max(most, getEventListeners(caller.signal, 'abort').length)),
          1,
        );
        const report = await going.finally(() => clearInterval(watch));
        expect(report.status).toBe('succeeded');
      }
      // Node emits its warning on the next tick: let it arrive before looking.
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    expect(most).toBeLessThanOrEqual(1);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    for (const n of names) expect(existsSync(join(work, 't', n, 'b.json'))).toBe(true);
  });

  it('a signal already aborted stops the deploy before anything is written', async () => {
    const caller = new AbortController();
    caller.abort();
    const config = await loadConfig(join(work, 'diffship.yml'));
    const to = repo.commit({ 'wf/late.json': 'late\n' });
    const report = await deploy({ config, repo: repo.dir, to, signal: caller.signal });
    expect(report.status).not.toBe('succeeded');
    for (let i = 0; i < TARGETS; i++) expect(existsSync(join(work, 't', `t${i}`, 'late.json'))).toBe(false);
  });
});
