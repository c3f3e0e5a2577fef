import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { checkEnvNames, exportLine, shellQuote } from '../../src/transport/shell-quote.js';

const HOSTILE = [
  "it's",
  "'",
  "''",
  '"double"',
  '$(touch /tmp/pwned-diffship)',
  '`id`',
  '$HOME ${HOME}',
  'a\nb\n',
  '\\',
  '-n',
  '*',
  '!',
  ';|&<>',
  '\t tab',
  'ünï ✓',
  '',
];

/** What /bin/sh makes of a command line (real dash, not a model of it). */
function sh(script: string): string {
  return execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
}

describe('shellQuote', () => {
  it.each(HOSTILE)('round-trips %j through a real shell as one word', (value) => {
    expect(sh(`printf '%s|' ${shellQuote(value)}`)).toBe(`${value}|`);
  });

  it('quotes by single quotes only', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('')).toBe("''");
  });

  it('refuses NUL bytes, which no shell word can carry', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });
});

describe('exportLine', () => {
  it('exports every variable with its exact value', () => {
    const env = Object.fromEntries(HOSTILE.map((v, i) => [`V${i}`, v]));
    const line = exportLine(env);
    expect(line.startsWith('export V0=')).toBe(true);
    const script = `${line}\n${HOSTILE.map((_, i) => `printf '%s|' "$V${i}"`).join('; ')}`;
    expect(sh(script)).toBe(HOSTILE.map((v) => `${v}|`).join(''));
    // Exported, so child processes see them too.
    expect(sh(`${exportLine({ DIFFSHIP_TARGET: 'a b' })}; sh -c 'printf %s "$DIFFSHIP_TARGET"'`)).toBe('a b');
  });

  it('is empty without variables and refuses names that are not shell names', () => {
    expect(exportLine(undefined)).toBe('');
    expect(exportLine({})).toBe('');
    for (const bad of ['A B', '1A', 'A-B', 'A=B', '', 'A;rm']) {
      expect(() => exportLine({ [bad]: 'x' })).toThrow(/not a valid shell name/);
      expect(() => checkEnvNames({ [bad]: 'x' })).toThrow(/not a valid shell name/);
    }
    expect(() => checkEnvNames({ _A1: 'x', DIFFSHIP_TARGET: 'y' })).not.toThrow();
  });
});
