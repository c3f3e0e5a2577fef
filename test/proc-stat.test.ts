/** proc-stat.ts: fields of a /proc/<pid>/stat line, whatever the command name holds; and this process's own. */
import { readFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { statFields } from '../src/proc-stat.js';

describe('statFields', () => {
  it('starts after the last ")": a name with spaces and parentheses does not shift the fields', () => {
    const line = '4242 (a) b (c) 9) S 1 4242 4242 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 987654 1 2\n';
    const f = statFields(line);
    expect(f[0]).toBe('S');
    expect(f[2]).toBe('4242');
    expect(f[19]).toBe('987654');
  });

  it.runIf(existsSync('/proc/self/stat'))('reads this process: its group and a start time', () => {
    const f = statFields(readFileSync(`/proc/${process.pid}/stat`, 'utf8'));
    expect(Number(f[2])).toBe(Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[2]));
    expect(f[19]).toMatch(/^\d+$/);
    expect(['R', 'S', 'D']).toContain(f[0]);
  });
});
