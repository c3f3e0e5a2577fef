/**
 * The file helper's start (issue 13: its perl start is on every SSH deploy's path): IO::Handle
 * and Digest::SHA load when the helper first waits for input, or for the first record that may
 * need them, never before its ready line. Shown with the real script run by the local perl,
 * and a Digest/SHA.pm first on PERL5LIB that notes its loading, then loads the real one.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  encodeRecord,
  OP_HASH,
  OP_PEEK,
  READY,
  remoteOpsCommand,
} from '../../../src/transport/ssh/perl-helper-protocol.js';
import { tempDir } from '../../helpers/git.js';

const dir = tempDir('diffship-late-load-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fake = join(dir, 'lib');
const mark = join(dir, 'loaded');
mkdirSync(join(fake, 'Digest'), { recursive: true });
writeFileSync(
  join(fake, 'Digest', 'SHA.pm'),
  [
    'package Digest::SHA;',
    'BEGIN { open(my $f, ">>", $ENV{LATE_MARK}) or die; print $f "loaded\\n"; close $f; }',
    'my ($real) = grep { !ref && $_ ne $ENV{LATE_FAKE} && -f "$_/Digest/SHA.pm" } @INC;',
    'do "$real/Digest/SHA.pm" or die "the real Digest::SHA: $@ $!";',
    '1;',
    '',
  ].join('\n'),
);
const work = join(dir, 'target');
mkdirSync(work);
writeFileSync(join(work, 'f'), 'hello\n');

/** The helper run here on `records` then end of input: its answers (after the ready line). */
function run(records: Buffer[]): string[] {
  rmSync(mark, { force: true });
  const r = spawnSync('sh', ['-c', remoteOpsCommand()], {
    cwd: work,
    input: Buffer.concat(records),
    env: { ...process.env, PERL5LIB: fake, LATE_MARK: mark, LATE_FAKE: fake },
  });
  expect(r.status, r.stderr.toString()).toBe(0);
  const out = r.stdout.toString();
  expect(out).toContain(READY);
  return out
    .slice(out.indexOf(READY) + READY.length)
    .trim()
    .split('\n');
}

describe('the file helper', () => {
  it('answers plain records without loading Digest::SHA', () => {
    const answers = run([encodeRecord(1, OP_PEEK, 'f\0nope', { b: '' })]);
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatch(/^1 ok \d+,6,\d+,\d+,\d+ -$/);
    // Before (2026-12-02) it was loaded while perl compiled the script, before the ready line.
    expect(existsSync(mark)).toBe(false);
  });

  it('loads it for a record that needs it, and hashes with the real one', () => {
    const answers = run([encodeRecord(1, OP_HASH, 'f', { mode: 1 })]);
    const blob = createHash('sha1').update('blob 6\0hello\n').digest('hex');
    expect(answers).toEqual([`1 ok ${blob}`]);
    expect(existsSync(mark)).toBe(true);
  });
});
