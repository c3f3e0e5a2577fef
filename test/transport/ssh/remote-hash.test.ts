import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parsePerlOutput,
  parseProbe,
  parseShOutput,
  perlHashCommand,
  perlHashInput,
  PROBE_COMMAND,
  shHashScript,
} from '../../../src/transport/ssh/hash-commands.js';
import { gitHashBytes, gitHashObject, HOSTILE_NAMES } from '../conformance.js';

// The scripts are what runs on an SSH host; here they run on this machine's
// /bin/sh (dash) and perl, in a folder holding the same hostile names.
let dir: string;
const files: string[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diffship-rhash-'));
  for (const [i, name] of HOSTILE_NAMES.entries()) {
    fs.writeFileSync(path.join(dir, name), `content ${i}\n`.repeat(i * 100));
    files.push(name);
  }
  fs.writeFileSync(path.join(dir, 'empty'), '');
  fs.writeFileSync(path.join(dir, 'binary'), Buffer.from([0, 255, 0, 10, 13]));
  fs.mkdirSync(path.join(dir, 'sub dir'));
  fs.writeFileSync(path.join(dir, 'sub dir', 'x'), 'x');
  fs.symlinkSync('target with ü', path.join(dir, 'link'));
  files.push('empty', 'binary', 'sub dir/x');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(command: string, input: Buffer | string): { code: number | null; stdout: Buffer } {
  const r = spawnSync('/bin/sh', ['-c', command], { cwd: dir, input });
  return { code: r.status, stdout: r.stdout };
}

describe('perl hashing', () => {
  it.each(['sha1', 'sha256'] as const)(
    'matches git hash-object (%s) for files (hostile names, empty, binary), symlinks; - for missing and folders',
    (algorithm) => {
      const paths = [...files, 'link', 'missing', 'sub dir', 'sub dir/missing'];
      const r = run(perlHashCommand(algorithm), perlHashInput(paths));
      expect(r.code).toBe(0);
      const records = parsePerlOutput(r.stdout, paths.length, algorithm)!;
      expect(records).not.toBeNull();
      files.forEach((f, i) => expect(records[i], f).toBe(gitHashObject(path.join(dir, f), algorithm)));
      expect(records[files.length]).toBe(gitHashBytes('target with ü', algorithm));
      expect(records.slice(files.length + 1)).toEqual([null, null, null]);
    },
  );

  it('hashes sha1 unless asked for sha256', () => {
    const r = run(perlHashCommand(), perlHashInput(['empty']));
    expect(parsePerlOutput(r.stdout, 1)).toEqual(['e69de29bb2d1d6434b8b29ae775ad8c2e48c5391']);
    // A sha1 id is no sha256 record, and the other way round.
    expect(parsePerlOutput(r.stdout, 1, 'sha256')).toEqual([null]);
    expect(parsePerlOutput(Buffer.from(`${'c'.repeat(64)}\0`), 1)).toEqual([null]);
  });

  it('parses ! (unreadable) records apart from missing ones', () => {
    // Tests run as root, which reads every file, so the script's ! branch is not reachable here.
    expect(parsePerlOutput(Buffer.from(`!\0-\0${'c'.repeat(40)}\0`), 3)).toEqual(['!', null, 'c'.repeat(40)]);
  });

  it('rejects incomplete output', () => {
    expect(parsePerlOutput(Buffer.from(`${'a'.repeat(40)}\0`), 2)).toBeNull();
    expect(parsePerlOutput(Buffer.from(`${'a'.repeat(40)}`), 1)).toBeNull();
    expect(parsePerlOutput(Buffer.from(''), 0)).toEqual([]);
  });
});

describe('sh hashing', () => {
  it.each([
    ['sha1sum', 'sha1'],
    ['shasum', 'sha1'],
    ['sha256sum', 'sha256'],
    ['shasum', 'sha256'],
  ] as const)('matches git hash-object with %s (%s), whatever the names', (tool, algorithm) => {
    if (tool === 'shasum' && spawnSync('sh', ['-c', 'command -v shasum']).status !== 0) {
      expect(shHashScript(tool, [], algorithm)).toContain(`shasum -a ${algorithm === 'sha1' ? 1 : 256}`);
      return;
    }
    const list = files.map((f) => ({ path: f, size: fs.statSync(path.join(dir, f)).size }));
    const r = run('exec sh -s', shHashScript(tool, list, algorithm));
    expect(r.code).toBe(0);
    const records = parseShOutput(r.stdout.toString(), list.length, algorithm)!;
    expect(records).not.toBeNull();
    files.forEach((f, i) => expect(records[i], f).toBe(gitHashObject(path.join(dir, f), algorithm)));
    expect(fs.existsSync(path.join(dir, 'pwned'))).toBe(false);
  });

  it('names the BSD tools as they are, and shasum with its -a', () => {
    const one = [{ path: 'x', size: 1 }];
    expect(shHashScript('sha256', one, 'sha256')).toMatch(/\| sha256; /);
    expect(shHashScript('sha1', one)).toMatch(/\| sha1; /);
    expect(shHashScript('shasum', one, 'sha256')).toContain('| shasum -a 256;');
    expect(shHashScript('shasum', one)).toContain('| shasum -a 1;');
  });

  it('answers ! for a path that is gone or not a regular file', () => {
    const r = run(
      'exec sh -s',
      shHashScript('sha1sum', [
        { path: 'missing', size: 1 },
        { path: 'link', size: 13 },
        { path: 'sub dir', size: 0 },
      ]),
    );
    expect(parseShOutput(r.stdout.toString(), 3)).toEqual(['!', '!', '!']);
  });

  it('rejects incomplete output', () => {
    expect(parseShOutput(`0 ${'a'.repeat(40)}  -\n`, 2)).toBeNull();
    expect(parseShOutput(`1 ${'b'.repeat(40)}  -\n0 ${'a'.repeat(40)}\n`, 2)).toEqual([
      'a'.repeat(40),
      'b'.repeat(40),
    ]);
  });

  it('takes only ids of the algorithm asked for (a wrong tool is no answer)', () => {
    const sha256 = `0 ${'a'.repeat(64)}  -\n`;
    expect(parseShOutput(sha256, 1, 'sha256')).toEqual(['a'.repeat(64)]);
    expect(parseShOutput(sha256, 1)).toBeNull();
    expect(parseShOutput(`0 ${'a'.repeat(40)}  -\n`, 1, 'sha256')).toBeNull();
    expect(parseShOutput('0 !\n', 1, 'sha256')).toEqual(['!']);
  });
});

describe('probe', () => {
  it('finds perl, sha1sum and sha256sum here', () => {
    const stdout = execFileSync('/bin/sh', ['-c', PROBE_COMMAND], { encoding: 'utf8' });
    expect(parseProbe(stdout)).toEqual({ perl: true, tools: { sha1: 'sha1sum', sha256: 'sha256sum' } });
  });

  it('picks the best tool per algorithm, and says null when the marker is missing (exec not usable)', () => {
    expect(parseProbe('diffship-probe\nshasum\nsha1\n')).toEqual({
      perl: false,
      tools: { sha1: 'shasum', sha256: 'shasum' },
    });
    // BSD: sha1 and sha256, no shasum.
    expect(parseProbe('diffship-probe\nsha1\nsha256\n')).toEqual({
      perl: false,
      tools: { sha1: 'sha1', sha256: 'sha256' },
    });
    // sha1sum alone: nothing on the host for sha256 (the caller reads those files over SFTP).
    expect(parseProbe('diffship-probe\nperl\nsha1sum\n')).toEqual({
      perl: true,
      tools: { sha1: 'sha1sum', sha256: null },
    });
    expect(parseProbe('diffship-probe\nsha256sum\n')).toEqual({
      perl: false,
      tools: { sha1: null, sha256: 'sha256sum' },
    });
    expect(parseProbe('diffship-probe\r\n')).toEqual({ perl: false, tools: { sha1: null, sha256: null } });
    expect(parseProbe('')).toBeNull();
    expect(parseProbe('This service allows sftp connections only.\n')).toBeNull();
  });
});
