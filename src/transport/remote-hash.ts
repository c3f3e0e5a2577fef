import { shellQuote } from './shell-quote.js';

/**
 * Computing git blob ids on the host, so that drift checks and staged-file
 * verification do not download every file. Pure: the scripts and the parsers
 * of their output; ssh.ts runs them.
 *
 * Two scripts, best first:
 * - `perl` with the core module Digest::SHA: one process for any number of
 *   files (2,000 files in ~30 ms). Reads the NUL-separated path list on stdin,
 *   answers one NUL-terminated record per path, in order.
 * - POSIX `sh` + `sha1sum` (or `shasum -a 1`, or BSD `sha1`): forks a few
 *   processes per file (~1 ms each), so it is only used for large files; the
 *   caller reads small ones over SFTP instead.
 *
 * Records: 40 hex digits, `-` (missing, a folder, or not a regular file or
 * symlink) or `!` (exists but unreadable).
 */

/** What the host offers for hashing, found by one probe exec. */
export type HashTool = 'perl' | 'sha1sum' | 'shasum' | 'sha1' | 'none';

/** Command printing a marker line, then the available tools, one a line. */
export const PROBE_COMMAND = [
  'echo diffship-probe',
  'perl -MDigest::SHA -e 1 >/dev/null 2>&1 && echo perl',
  'for c in sha1sum shasum sha1; do command -v "$c" >/dev/null 2>&1 && echo "$c"; done',
  'exit 0',
].join('; ');

/** The best hashing tool named in the probe's output, or null when the probe did not run (no exec). */
export function parseProbe(stdout: string): { perl: boolean; sha: HashTool } | null {
  const lines = stdout.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== 'diffship-probe') return null;
  const sha = (['sha1sum', 'shasum', 'sha1'] as const).find((t) => lines.includes(t)) ?? 'none';
  return { perl: lines.includes('perl'), sha };
}

const PERL = [
  'use strict; use Digest::SHA;',
  'binmode STDIN; binmode STDOUT; $/ = "\\0";',
  'while (defined(my $p = <STDIN>)) {',
  '  chop $p; my $o = "-";',
  '  if (-l $p) {',
  '    my $t = readlink $p;',
  '    $o = defined $t ? Digest::SHA::sha1_hex("blob " . length($t) . "\\0" . $t) : "!";',
  '  } elsif (-f _) {',
  '    if (open(my $f, "<:raw", $p)) {',
  '      my $d = Digest::SHA->new(1); $d->add("blob " . (stat($f))[7] . "\\0"); $d->addfile($f);',
  '      $o = $d->hexdigest; close $f;',
  '    } else { $o = "!"; }',
  '  }',
  '  print $o, "\\0";',
  '}',
].join('\n');

/** Shell command (run in the target root) hashing the paths given NUL-separated on stdin. */
export function perlHashCommand(): string {
  return `exec perl -e ${shellQuote(PERL)}`;
}

/** stdin for `perlHashCommand`: each path NUL-terminated. */
export function perlHashInput(paths: readonly string[]): Buffer {
  return Buffer.from(paths.map((p) => `${p}\0`).join(''), 'utf8');
}

/** Parse the perl script's output into one record per path. */
export function parsePerlOutput(stdout: Buffer, count: number): Array<string | null | '!'> | null {
  const records = stdout.toString('latin1').split('\0');
  // A complete answer ends with a NUL, so the split leaves one empty tail.
  if (records.length !== count + 1 || records[count] !== '') return null;
  return records.slice(0, count).map(parseRecord);
}

/**
 * A POSIX sh script (fed to `sh -s` on stdin, so its length is not bound by
 * ARG_MAX) hashing regular files whose sizes are already known. Every path is
 * single-quoted and prefixed with `./`, so spaces, newlines, quotes and
 * leading dashes are plain bytes. Output: one line `<index> <hex>` per file.
 */
export function shHashScript(
  tool: Exclude<HashTool, 'perl' | 'none'>,
  files: ReadonlyArray<{ path: string; size: number }>,
): string {
  const sha = tool === 'shasum' ? 'shasum -a 1' : tool;
  const lines = [
    `h() { if [ -f "$3" ] && [ ! -h "$3" ] && [ -r "$3" ]; then printf '%s ' "$1"; { printf 'blob %s\\0' "$2"; cat -- "$3"; } | ${sha}; else printf '%s !\\n' "$1"; fi; }`,
  ];
  files.forEach((f, i) => lines.push(`h ${i} ${Math.trunc(f.size)} ${shellQuote(`./${f.path}`)}`));
  lines.push('exit 0', '');
  return lines.join('\n');
}

/** Parse the sh script's output: one record per file, null when incomplete. */
export function parseShOutput(stdout: string, count: number): Array<string | '!'> | null {
  const out = new Array<string | '!' | undefined>(count);
  for (const line of stdout.split('\n')) {
    const m = /^(\d+) ([0-9a-f]{40}|!)/.exec(line);
    if (!m) continue;
    const i = Number(m[1]);
    if (i < count) out[i] = m[2] as string;
  }
  // A loop, not `every`: every() skips the holes of a sparse array.
  for (let i = 0; i < count; i++) if (out[i] === undefined) return null;
  return out as Array<string | '!'>;
}

function parseRecord(record: string): string | null | '!' {
  if (/^[0-9a-f]{40}$/.test(record)) return record;
  if (record === '!') return '!';
  return null;
}
