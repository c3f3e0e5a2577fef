/**
 * Two ops of the file helper (perl-helper-protocol.ts) that give authoritative
 * mode the stat cache over SSH, as the local transport has it:
 *
 * - scan (12): walk the target folder (from the helper's folder, the target
 *   root), leaving out the folders listed in B (NUL-separated, relative to the
 *   root), never following a link. One lstat per entry gives its type (perl has
 *   no d_type); files and symlinks carry that lstat too, so a release file is
 *   looked at once and a stray is never read. The entries come back in git's
 *   byte order of paths, in `<id> part <records>` lines of at most ~64 KiB as
 *   the walk goes (the client parses them as they arrive, no giant line), then
 *   `<id> ok <count>`. A folder that is no longer the one lstat saw when it is
 *   opened (swapped for a link meanwhile) is not descended into.
 * - stats (13): the exact lstat of each NUL-separated path in A, one record per
 *   path: `-` when missing, `!` when it cannot be stat'ed, else the stat fields.
 *
 * Records are space-separated: `D<dir>` sets the folder of the records after
 * it (the root until the first one), `d<name>` a folder, `o<name>` anything
 * else that is not a file or a link, and `f<name>,<stat>` / `l<name>,<stat>` a
 * file / a symlink. A stat is `mode,size,mtimeNs,ctimeNs,ino`. Names are
 * percent-encoded bytes (all but `A-Za-z0-9._~+=^@:-`, and `/` in a `D`).
 *
 * Times: perl's Time::HiRes::lstat gives seconds as a double (~240 ns steps
 * today), turned into ns the same way each time. The cache only ever compares
 * the helper's stats with the helper's, and the racy rule (plan/stat-cache.ts)
 * orders them against the state file's mtime taken the same way (rounding keeps
 * that order), so the coarser step loses nothing an edit after the state was
 * written could hide behind.
 */
import type { EntryType } from '../../entry-type.js';
import type { FileStat } from '../../plan/manifest-types.js';
import type { ExactVisit } from '../transport.js';
import { INO_DIGITS, SIZE_DIGITS, TIME_DIGITS } from './stat-digits.js';

export const OP_SCAN = 12;
export const OP_STATS = 13;

/** The perl subs of the two ops; `$out`, `flush` and `failure` are the helper's own. */
export const PERL_SCAN = String.raw`
my $HIRES = eval { require Time::HiRes; 1 };
sub penc { my $s = shift; $s =~ s/([^A-Za-z0-9._~+=^@:\-])/sprintf("%%%02X", ord $1)/ge; return $s; }
sub statx { return join(",", $_[2], $_[7], sprintf("%.0f", $_[9] * 1e9), sprintf("%.0f", $_[10] * 1e9), $_[1]); }
sub xstat { my @s = Time::HiRes::lstat($_[0]); return @s ? (statx(@s), @s) : (); }
sub xstats {
  return "err ENOSYS Time::HiRes is missing" unless $HIRES;
  return join(" ", "ok", map { my ($r) = xstat($_); defined $r ? $r : ($!{ENOENT} || $!{ENOTDIR}) ? "-" : "!" } split(/\0/, shift, -1));
}
# A long answer's records, sent ahead in "<id> part <records>" lines of ~64 KiB: put, then end.
sub parts {
  my ($id, $part) = (shift, "");
  return (sub { $part .= " " . $_[0]; if (length($part) >= 65536) { $out .= "$id part$part\n"; $part = ""; flush(); } },
    sub { $out .= "$id part$part\n" if length $part; $part = ""; });
}
# One walked entry's record: f or l with its stat text, d, o.
sub entry_rec { my ($nm, $f, $stat) = @_; return ($f == 0100000 ? "f" : $f == 0120000 ? "l" : $f == 0040000 ? "d" : "o") . penc($nm) . (defined $stat ? ",$stat" : ""); }
# The walk of scan and look: git's byte order of paths, one lstat per entry, never through a
# link, nor into a folder swapped for a link while it walks. $rec->(name, path, type bits,
# lstat) gives an entry's record (undef: not sent); records go to $put, each folder's first
# after its D record (not counted). Returns (error answer or undef, records sent).
sub walk_sorted {
  my ($skip, $rec, $put) = @_;
  my ($cur, $count, $err) = ("", 0, undef);
  my $walk;
  $walk = sub {
    my ($d, $dev, $ino) = @_;
    my $dh;
    if (!opendir($dh, $d eq "" ? "." : $d)) { $err = failure() unless $!{ENOENT} || $!{ENOTDIR}; return; }
    if (defined $ino) {
      my @t = stat($dh);
      if (!@t) { $err = "err ENOSYS cannot stat a folder handle"; closedir $dh; return; }
      if ($t[0] != $dev || $t[1] != $ino) { closedir $dh; return; }
    }
    my @names = readdir $dh; closedir $dh;
    my @items;
    for my $n (@names) {
      next if $n eq "." || $n eq "..";
      my $p = $d eq "" ? $n : "$d/$n";
      next if $skip->{$p};
      my @s = Time::HiRes::lstat($p) or next;
      my $f = $s[2] & 0170000;
      my $r = $rec->($n, $p, $f, @s);
      push @items, [$n, $r] if defined $r;
      push @items, ["$n/", undef, $p, $s[0], $s[1]] if $f == 0040000;
    }
    for my $it (sort { $a->[0] cmp $b->[0] } @items) {
      return if defined $err;
      if (!defined $it->[1]) { $walk->($it->[2], $it->[3], $it->[4]); next; }
      if ($cur ne $d) { $cur = $d; $put->("D" . join("/", map { penc($_) } split(m{/}, $d))); }
      $put->($it->[1]); $count++;
    }
  };
  $walk->("", undef, undef);
  undef $walk;
  return ($err, $count);
}
sub scan {
  my ($id, $skips) = @_;
  return "err ENOSYS Time::HiRes is missing" unless $HIRES;
  my %skip = map { ($_ => 1) } split(/\0/, $skips);
  my ($put, $end) = parts($id);
  my ($err, $count) = walk_sorted(\%skip, sub {
    my ($n, $p, $f, @s) = @_;
    return entry_rec($n, $f, ($f == 0100000 || $f == 0120000) ? statx(@s) : undef);
  }, $put);
  return $err if defined $err;
  $end->();
  return "ok $count";
}
`;

/** The main loop's branches for the two ops (`$p` is A, `$q` is B). */
export const PERL_SCAN_DISPATCH = String.raw`
  } elsif ($op == 12) {
    $answer = scan($id, $q);
  } elsif ($op == 13) {
    $answer = xstats($p);`;

/** mode, size, mtime, ctime, inode (stat-digits.ts: what a manifest holds). */
const STAT_FIELDS = `${SIZE_DIGITS},${SIZE_DIGITS},${TIME_DIGITS},${TIME_DIGITS},${INO_DIGITS}`;
const STAT = new RegExp(`^${STAT_FIELDS}$`);
/**
 * One record, read where the last one ended (sticky): one native regex pass per
 * record, no split, since a CLI process parses a 500,000-entry walk once, cold.
 */
const RECORD = new RegExp(` ?([fldoD])([^ ,]*)(?:,${STAT_FIELDS})?(?= |$)`, 'y');
const TYPES: Readonly<Record<string, EntryType>> = { f: 'file', l: 'symlink', d: 'dir', o: 'other' };

/** A bad record: the helper's output is not what it should be (the caller gives the scan up). */
export class ScanFormatError extends Error {}

/**
 * Reads the scan's `part` payloads in order and calls `visit` for each entry.
 * Hostile-input checks: a name is one non-empty path segment, a folder a
 * clean relative path; numbers are plain decimals.
 */
export class ScanReader {
  private dir = '';
  count = 0;

  constructor(private readonly visit: ExactVisit) {}

  push(payload: string): void {
    RECORD.lastIndex = 0;
    let end = 0;
    for (let m = RECORD.exec(payload); m !== null; m = RECORD.exec(payload)) {
      end = RECORD.lastIndex;
      const kind = m[1]!;
      if (kind === 'D') {
        if (m[3] !== undefined) throw bad(m[0]);
        this.dir = m[2] === '' ? '' : folderOf(m[2]!);
        continue;
      }
      const type = TYPES[kind]!;
      const withStat = type === 'file' || type === 'symlink';
      if (withStat !== (m[3] !== undefined)) throw bad(m[0]);
      const stat = withStat
        ? { mode: Number(m[3]), size: Number(m[4]), mtimeNs: m[5]!, ctimeNs: m[6]!, ino: m[7]! }
        : null;
      const name = segment(m[2]!);
      this.count++;
      // Joined, not a template: a flat string of its own. A template's is a pair of the folder
      // and the name, itself a slice of the answer's text: kept alive by a stray's path until the
      // plan, 32 bytes more a path and the answer's parts (500,000 strays: node 165 → 131 MiB).
      this.visit(this.dir === '' ? name : [this.dir, name].join('/'), type, stat);
    }
    if (end !== payload.length && payload.slice(end).trim() !== '') throw bad(payload.slice(end));
  }
}

function bad(record: string): ScanFormatError {
  return new ScanFormatError(`unexpected scan record ${JSON.stringify(record.trim().slice(0, 80))}`);
}

/** The stats answer: one entry per asked path (null: missing or not stat'able); null when malformed. */
export function parseStatsPayload(payload: string, count: number): Array<FileStat | null> | null {
  const records = payload === '' ? [] : payload.split(' ');
  if (records.length !== count) return null;
  const out: Array<FileStat | null> = [];
  for (const r of records) {
    if (r === '-' || r === '!') out.push(null);
    else {
      const stat = parseStat(r);
      if (!stat) return null;
      out.push(stat);
    }
  }
  return out;
}

function parseStat(text: string): FileStat | null {
  const m = STAT.exec(text);
  if (!m) return null;
  return { mode: Number(m[1]), size: Number(m[2]), mtimeNs: m[3]!, ctimeNs: m[4]!, ino: m[5]! };
}

/** A percent-encoded name (bytes, decoded as UTF-8 as the other walks do). */
function decodeName(text: string): string {
  if (!text.includes('%')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x25) bytes.push(c);
    else {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex))
        throw new ScanFormatError(`bad escape in scan name ${JSON.stringify(text)}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** One name of a walk record (scan or look): a single clean segment, decoded. */
export function segment(text: string): string {
  const name = text.includes('%') ? decodeName(text) : text;
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0'))
    throw new ScanFormatError(`bad name in scan: ${JSON.stringify(name)}`);
  return name;
}

/** A folder or path of a walk record: clean segments joined by `/`. */
export function folderOf(text: string): string {
  return text.split('/').map(segment).join('/');
}
