import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { colorEnabled, displayName, writeJson, type Output } from '../../src/cli/output.js';

describe('displayName', () => {
  it.each([
    ['plain.json', 'plain.json'],
    ['with space "and" quotes\\.json', 'with space "and" quotes\\.json'],
    ['ünïcödé ✓ 日本.json', 'ünïcödé ✓ 日本.json'],
    ['-dash', '-dash'],
    ['new\nline', '"new\\nline"'],
    ['tab\there "q" \\', '"tab\\there \\"q\\" \\\\"'],
    ['esc\u001b[31m', '"esc\\x1b[31m"'],
    ['cr\r', '"cr\\r"'],
    ['del\u007f', '"del\\x7f"'],
    ['c1\u009b', '"c1\\x9b"'],
    ['bidi\u202eevil', '"bidi\\u202eevil"'],
    ['sep\u2028x', '"sep\\u2028x"'],
  ])('%j → %s', (name, shown) => {
    expect(displayName(name)).toBe(shown);
  });
});

describe('colorEnabled', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  it.each([
    [tty, {}, true],
    [pipe, {}, false],
    [tty, { TERM: 'dumb' }, false],
    [tty, { NO_COLOR: '1' }, false],
    [tty, { NO_COLOR: '' }, true],
    [pipe, { FORCE_COLOR: '1' }, true],
    [pipe, { FORCE_COLOR: '' }, true],
    [tty, { FORCE_COLOR: '0' }, false],
    [pipe, { FORCE_COLOR: 'false' }, false],
    [pipe, { FORCE_COLOR: '1', NO_COLOR: '1' }, false],
  ])('%j with %j → %s', (stream, env, expected) => {
    expect(colorEnabled(stream, env as NodeJS.ProcessEnv)).toBe(expected);
  });
});

describe('writeJson', () => {
  const capture = (isTTY: boolean) => {
    let text = '';
    const stdout = Object.assign(
      new Writable({
        write(chunk, _enc, done) {
          text += String(chunk);
          done();
        },
      }),
      { isTTY },
    );
    const out: Output = { stdout, stderr: stdout, env: {} };
    return { out, text: () => text };
  };

  it('indents for a person and is compact for a program', () => {
    const tty = capture(true);
    writeJson(tty.out, { a: [1] });
    expect(tty.text()).toBe('{\n  "a": [\n    1\n  ]\n}\n');
    const pipe = capture(false);
    writeJson(pipe.out, { a: [1] });
    expect(pipe.text()).toBe('{"a":[1]}\n');
  });
});
