import { idLength, type HashAlgorithm } from '../../diff/blob.js';
import { shellQuote } from '../shell-quote.js';

/**
 * Computing git blob ids on the host, so that drift checks and staged-file
 * verification do not download every file. Pure: the scripts and the parsers
 * of their output; exec-channels.ts (the probe) and hash-files.ts run them.
 *
 * Two scripts, best first:
 * - `perl` with the core module Digest::SHA: one process for any number of
 *   files (2,000 files in ~30 ms). Reads the NUL-separated path list on stdin,
 *   answers one NUL-terminated record per path, in order.
 * - POSIX `sh` + `sha1sum` (or `shasum -a 1`, or BSD `sha1`), and for SHA-256
 *   repositories `sha256sum` (or `shasum -a 256`, or BSD `sha256`): forks a
 *   few processes per file (~1 ms each), so it is only used for large files;
 *   the caller reads small ones over SFTP instead.
 *
 * Records: a blob id (40 hex digits, 64 for sha256), `-` (missing, a folder,
 * or not a regular file or symlink) or `!` (exists but unreadable).
 */

/** A command-line hashing tool the sh script can pipe into. */
export type HashTool = 'sha1sum' | 'sha256sum' | 'shasum' | 'sha1' | 'sha256';

/** Tools for each algorithm, best first (`shasum` does both, with `-a`). */
const TOOLS: Record<HashAlgorithm, readonly HashTool[]> = {
  sha1: ['sha1sum', 'shasum', 'sha1'],
  sha256: ['sha256sum', 'shasum', 'sha256'],
};

/** What the host offers for hashing, found by one probe exec: perl, and the sh tool per algorithm (null: none). */
export interface HashProbe {
  perl: boolean;
  tools: Record<HashAlgorithm, HashTool | null>;
}

/** Command printing a marker line, then the available tools, one a line. */
export const PROBE_COMMAND = [
  'echo diffship-probe',
  'perl -MDigest::SHA -e 1 >/dev/null 2>&1 && echo perl',
  'for c in sha1sum sha256sum shasum sha1 sha256; do command -v "$c" >/dev/null 2>&1 && echo "$c"; done',
  'exit 0',
].join('; ');

/** The best hashing tools named in the probe's output, or null when the probe did not run (no exec). */
export function parseProbe(stdout: string): HashProbe | null {
  const lines = stdout.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== 'diffship-probe') return null;
  const best = (algorithm: HashAlgorithm) => TOOLS[algorithm].find((t) => lines.includes(t)) ?? null;
  return { perl: lines.includes('perl'), tools: { sha1: best('sha1'), sha256: best('sha256') } };
}

/** Digest::SHA's name for an algorithm (`Digest::SHA->new(1)`, `->new(256)`). */
export function perlSha(algorithm: HashAlgorithm): 1 | 256 {
  return algorithm === 'sha256' ? 256 : 1;
}

const perlScript = (algorithm: HashAlgorithm) =>
  [
    `use strict; use Digest::SHA; my $A = ${perlSha(algorithm)};`,
    'binmode STDIN; binmode STDOUT; $/ = "\\0";',
    'while (defined(my $p = <STDIN>)) {',
    '  chop $p; my $o = "-";',
    '  if (-l $p) {',
    '    my $t = readlink $p;',
    '    $o = defined $t ? Digest::SHA->new($A)->add("blob " . length($t) . "\\0" . $t)->hexdigest : "!";',
    '  } elsif (-f _) {',
    '    if (open(my $f, "<:raw", $p)) {',
    '      my $d = Digest::SHA->new($A); $d->add("blob " . (stat($f))[7] . "\\0"); $d->addfile($f);',
    '      $o = $d->hexdigest; close $f;',
    '    } else { $o = "!"; }',
    '  }',
    '  print $o, "\\0";',
    '}',
  ].join('\n');

/** Shell command (run in the target root) hashing the paths given NUL-separated on stdin (sha1 by default). */
export function perlHashCommand(algorithm: HashAlgorithm = 'sha1'): string {
  return `exec perl -e ${shellQuote(perlScript(algorithm))}`;
}

/** stdin for `perlHashCommand`: each path NUL-terminated. */
export function perlHashInput(paths: readonly string[]): Buffer {
  return Buffer.from(paths.map((p) => `${p}\0`).join(''), 'utf8');
}

/** Parse the perl script's output into one record per path (ids of `algorithm`, sha1 by default). */
export function parsePerlOutput(
  stdout: Buffer,
  count: number,
  algorithm: HashAlgorithm = 'sha1',
): Array<string | null | '!'> | null {
  const records = stdout.toString('latin1').split('\0');
  // A complete answer ends with a NUL, so the split leaves one empty tail.
  if (records.length !== count + 1 || records[count] !== '') return null;
  return records.slice(0, count).map((r) => parseRecord(r, algorithm));
}

/**
 * A POSIX sh script (fed to `sh -s` on stdin, so its length is not bound by
 * ARG_MAX) hashing regular files whose sizes are already known. Every path is
 * single-quoted and prefixed with `..`, so spaces, newlines, quotes and
 * leading dashes are plain bytes. Output: one line `<index> <hex>` per file.
 */
export function shHashScript(
  tool: HashTool,
  files: ReadonlyArray<{ path: string; size: number }>,
  algorithm: HashAlgorithm = 'sha1',
): string {
  const sha = tool === 'shasum' ? `shasum -a ${perlSha(algorithm)}` : tool;
  const lines = [
    `h() { if [ -f "$3" ] && [ ! -h "$3" ] && [ -r "$3" ]; then printf '%s ' "$1"; { printf 'blob %s\\0' "$2"; cat -- "$3"; } | ${sha}; else printf '%s !\\n' "$1"; fi; }`,
  ];
  files.forEach((f, i) => lines.push(`h ${i} ${Math.trunc(f.size)} ${shellQuote(`./${f.path}`)}`));
  lines.push('exit 0', '');
  return lines.join('\n');
}

/** Parse the sh script's output (ids of `algorithm`, sha1 by default): one record per file, null when incomplete. */
export function parseShOutput(
  stdout: string,
  count: number,
  algorithm: HashAlgorithm = 'sha1',
): Array<string | '!'> | null {
  const out = new Array<string | '!' | undefined>(count);
  // An id of the wrong length (the wrong tool) is no record, so the answer counts as incomplete.
  const record = new RegExp(`^(\\d+) ([0-9a-f]{${idLength(algorithm)}}|!)(?![0-9a-f])`);
  for (const line of stdout.split('\n')) {
    const m = record.exec(line);
    if (!m) continue;
    const i = Number(m[1]);
    if (i < count) out[i] = m[2] as string;
  }
  // A loop, not `every`: every() skips the holes of a sparse array.
  for (let i = 0; i < count; i++) if (out[i] === undefined) return null;
  return out as Array<string | '!'>;
}

/** A blob id of `algorithm`, `!` (unreadable), or null (missing, a folder, anything else). */
export function parseRecord(record: string, algorithm: HashAlgorithm): string | null | '!' {
  if (record.length === idLength(algorithm) && /^[0-9a-f]+$/.test(record)) return record;
  if (record === '!') return '!';
  return null;
}
