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
} from '../../src/transport/remote-hash.js';
import { gitHashBytes, gitHashObject, HOSTILE_NAMES } from './conformance.js';

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
  it('matches git hash-object for files (hostile names, empty, binary), symlinks; - for missing and folders', () => {
    const paths = [...files, 'link', 'missing', 'sub dir', 'sub dir/missing'];
    const r = run(perlHashCommand(), perlHashInput(paths));
    expect(r.code).toBe(0);
    const records = parsePerlOutput(r.stdout, paths.length)!;
    expect(records).not.toBeNull();
    files.forEach((f, i) => expect(records[i], f).toBe(gitHashObject(path.join(dir, f))));
    expect(records[files.length]).toBe(gitHashBytes('target with ü'));
    expect(records.slice(files.length + 1)).toEqual([null, null, null]);
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
  it.each(['sha1sum', 'shasum'] as const)('matches git hash-object with %s, whatever the names', (tool) => {
    if (tool === 'shasum' && spawnSync('sh', ['-c', 'command -v shasum']).status !== 0) {
      expect(shHashScript(tool, [])).toContain('shasum -a 1');
      return;
    }
    const list = files.map((f) => ({ path: f, size: fs.statSync(path.join(dir, f)).size }));
    const r = run('exec sh -s', shHashScript(tool, list));
    expect(r.code).toBe(0);
    const records = parseShOutput(r.stdout.toString(), list.length)!;
    expect(records).not.toBeNull();
    files.forEach((f, i) => expect(records[i], f).toBe(gitHashObject(path.join(dir, f))));
    expect(fs.existsSync(path.join(dir, 'pwned'))).toBe(false);
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
});

describe('probe', () => {
  it('finds perl and sha1sum here', () => {
    const stdout = execFileSync('/bin/sh', ['-c', PROBE_COMMAND], { encoding: 'utf8' });
    expect(parseProbe(stdout)).toEqual({ perl: true, sha: 'sha1sum' });
  });

  it('picks the best tool, and says null when the marker is missing (exec not usable)', () => {
    expect(parseProbe('diffship-probe\nshasum\nsha1\n')).toEqual({ perl: false, sha: 'shasum' });
    expect(parseProbe('diffship-probe\r\n')).toEqual({ perl: false, sha: 'none' });
    expect(parseProbe('')).toBeNull();
    expect(parseProbe('This service allows sftp connections only.\n')).toBeNull();
  });
});
