import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildProgram, commandName, main } from '../../src/cli/main.js';
import type { Output } from '../../src/cli/output.js';
import { createRepo } from '../diff/git-repo.js';

function capture(): { out: Output; stdout: () => string; stderr: () => string } {
  const sink = () => {
    let text = '';
    const stream = new Writable({
      write(chunk, _enc, done) {
        text += String(chunk);
        done();
      },
    });
    return { stream, text: () => text };
  };
  const o = sink();
  const e = sink();
  return { out: { stdout: o.stream, stderr: e.stream, env: {} }, stdout: o.text, stderr: e.text };
}

const argv = (...args: string[]) => ['node', 'diffship', ...args];

describe('main', () => {
  it('maps usage errors to exit 2 with one diffship: line', async () => {
    const c = capture();
    expect(await main(argv('diff', '--nope'), c.out)).toBe(2);
    expect(c.stderr()).toBe("diffship: unknown option '--nope'\n");
  });

  it('maps ref errors to 2 and other failures to 1, without stacks', async () => {
    const repo = createRepo();
    try {
      repo.write({ a: '1' });
      repo.commit();
      const bad = capture();
      expect(await main(argv('diff', '--repo', repo.dir, '--from', 'missing'), bad.out)).toBe(2);
      expect(bad.stderr()).toMatch(
        /^diffship: from ref "missing" is not a commit in this repository; [^\n]+\n$/,
      );
    } finally {
      repo.cleanup();
    }
  });

  it('exits 0 for --help and --version, 2 without a command', async () => {
    const help = capture();
    expect(await main(argv('--help'), help.out)).toBe(0);
    expect(help.stdout()).toContain('diff');
    const version = capture();
    expect(await main(argv('--version'), version.out)).toBe(0);
    expect(version.stdout()).toMatch(/^\d+\.\d+\.\d+\n$/);
    const none = capture();
    expect(await main(argv(), none.out)).toBe(2);
  });

  it('names the program diffship and offers --repo to every command', async () => {
    const program = await buildProgram(capture().out);
    expect(program.name()).toBe('diffship');
    expect(program.options.map((o) => o.long)).toContain('--repo');
    expect(program.commands.map((c) => c.name())).toContain('diff');
  });

  it('registers only the module of the command being run, and every module otherwise', async () => {
    const diffOnly = await buildProgram(capture().out, ['--repo', 'x', 'diff', '--json']);
    expect(diffOnly.commands.map((c) => c.name())).toEqual(['diff']);
    const all = await buildProgram(capture().out, ['--help']);
    expect(all.commands.map((c) => c.name())).toEqual(expect.arrayContaining(['diff', 'deploy', 'status']));
    const typo = await buildProgram(capture().out, ['dif']);
    expect(typo.commands.length).toBe(all.commands.length);
  });

  it('finds the command name past program options', async () => {
    const program = await buildProgram(capture().out, []);
    expect(commandName(program, ['--repo', 'diff', 'status'])).toBe('status');
    expect(commandName(program, ['--repo=.', 'diff'])).toBe('diff');
    expect(commandName(program, ['-V'])).toBeUndefined();
    expect(commandName(program, ['--', 'diff'])).toBe('diff');
  });
});
