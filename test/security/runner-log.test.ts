/**
 * Attack: text from a release (file names) or a target (hook output, check
 * output, errors, drift) becomes a workflow command in the runner's log:
 * `::set-output`, `::add-mask`, `::set-env`, `::add-path`, `::error`,
 * `::stop-commands` (which would silence diffship's own failure), or the old
 * `##[command]` syntax. Run against the built action; stdout and stderr are
 * read line by line as the runner reads them (test/security/action-harness.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, runAction, workflowCommands, type ActionRun, type Fixture } from './action-harness.js';

/** File names a release may hold (git and Linux allow all of these). */
export const HOSTILE_NAMES = [
  'n1\n::set-output name=x::PWNED',
  'n2\n::add-mask::PWNED',
  'n3\r::error::PWNED',
  'n4\r\n  ::set-env name=PWNED::1',
  'n5 ##[add-mask]PWNED',
  '::warning::PWNED',
  'n6\n::stop-commands::PWNED',
  'n7\n::add-path::PWNED',
];

/** Shell lines printing workflow commands, as a hook or a check on a hostile target might. */
const printCommands = (indent: string) =>
  [
    `printf '%s\\n' '::set-env name=PWNED::1' '::add-path::PWNED' '##[add-mask]PWNED' '  ::error::PWNED' 'x ##[set-output name=y]PWNED'`,
    `printf '::stop-commands::PWNED\\n'`,
    `printf 'a\\r::add-mask::PWNED\\n'`,
  ].join(`\n${indent}`);

const CONFIG = `source: app
targets:
  - name: web-1
    path: ../hosts/web-1
    before:
      run: |
        ${printCommands('        ')}
    activate:
      remote: |
        ${printCommands('        ')}
    verify:
      - command:
          timeout: 1s
          run: |
            ${printCommands('            ')}
            exit 1
`;

const ALLOWED = new Set([
  'group',
  'endgroup',
  'error',
  'warning',
  'notice',
  'debug',
  'stop-commands',
  '(resume)',
]);

/** Every command the runner would act on that diffship did not mean to give it. */
function injected(output: string) {
  const { commands, stopped } = workflowCommands(output);
  const bad = commands.filter(
    (c) =>
      c.legacy ||
      !ALLOWED.has(c.name) ||
      /^\s*PWNED/.test(c.data) ||
      (c.name === 'stop-commands' && !/^[0-9a-f]{32}$/.test(c.data)),
  );
  return { bad: bad.map((c) => JSON.stringify(c.line)), stopped, commands };
}

function expectNoInjection(run: ActionRun): void {
  for (const stream of [run.stdout, run.stderr]) {
    const { bad, stopped } = injected(stream);
    expect(bad).toEqual([]);
    expect(stopped).toBe(false);
  }
  expect(Object.keys(run.outputs)).not.toContain('x');
  expect(Object.keys(run.outputs)).not.toContain('y');
}

let fx: Fixture | undefined;
afterEach(() => fx?.cleanup());

function hostileRelease(f: Fixture): void {
  f.commit(Object.fromEntries(HOSTILE_NAMES.map((n, i) => [`app/${n}`, `file ${i}\n`])));
}

describe('no text from a release or a target becomes a workflow command', () => {
  it('plan: hostile file names in the change lines', async () => {
    fx = fixture(CONFIG);
    hostileRelease(fx);
    const run = await runAction(fx, { command: 'plan' });
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain('::add-mask::PWNED'); // printed, but inert
    expectNoInjection(run);
  });

  it('deploy: hook and check output, hostile names, the failure annotations', async () => {
    fx = fixture(CONFIG);
    hostileRelease(fx);
    const run = await runAction(fx, {});
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('::set-env name=PWNED::1');
    expectNoInjection(run);
    // diffship's own failure still reaches the runner: no stop-commands left hanging.
    const { commands } = injected(run.stdout);
    expect(commands.some((c) => c.name === 'error' && c.data.startsWith('diffship deploy'))).toBe(true);
    expect(commands.filter((c) => c.name === 'group').length).toBe(
      commands.filter((c) => c.name === 'endgroup').length,
    );
  });

  it('drift: a hostile name changed on the target, listed in the error', async () => {
    fx = fixture('source: app\ntargets:\n  - name: web-1\n    path: ../hosts/web-1\n');
    hostileRelease(fx);
    expect((await runAction(fx, {})).code).toBe(0);
    for (const name of HOSTILE_NAMES)
      fs.writeFileSync(path.join(fx.hosts, 'web-1', name), 'edited by hand\n');
    fx.commit(Object.fromEntries(HOSTILE_NAMES.map((n) => [`app/${n}`, 'release 2\n'])));
    const run = await runAction(fx, {});
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('drift');
    expectNoInjection(run);
    const status = await runAction(fx, { command: 'status' });
    expectNoInjection(status);
  });
});
