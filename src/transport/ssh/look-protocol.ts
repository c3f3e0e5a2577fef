/**
 * The file helper's look op (perl-helper-protocol.ts): authoritative mode's
 * walk of an SSH target compared, on the host, with the stat cache of the
 * manifest the state names, so that only what differs crosses the wire.
 *
 * - look (20): A is the manifest file (relative to the root), B the state file
 *   then the folders to leave out, NUL-separated. The helper reads the manifest
 *   (never through a link, a regular file only), takes the state file's mtime
 *   as the racy line (plan/stat-cache.ts: a recorded mtime not strictly older
 *   is not trusted), and walks the target as scan (12) does, in git's byte
 *   order of paths. A file or link whose lstat, written as the manifest writes
 *   it (`size,mtimeNs,ctimeNs,ino,mode`), is the text of its manifest line's
 *   stat is matched and not sent; every other entry is sent as a scan record
 *   (`D`, `d`, `o`, `f<name>,<stat>`, `l<name>,<stat>`, the stat in manifest
 *   order). Then `m<path>` for each manifest path (of a line whose path is not
 *   quoted) that the walk did not reach. The answer is `ok <records> <matched>
 *   <sha256> <size>` of the manifest it read: the caller uses the answer only
 *   when that is the file its state names.
 *
 * The helper remembers the manifest it read and hashed, by its stat (device, inode,
 * size, mtime and ctime in ns; none whose mtime or ctime is under 2 s old, and none that
 * changed while it was read), so that the patch op (patch-protocol.ts) that makes the
 * next manifest from it later in the same deploy need not hash it again.
 *
 * So a manifest path with no record was walked and its stat matched; a quoted
 * one (an odd name) is never matched, and with no record it is absent.
 */
import type { EntryType } from '../../entry-type.js';
import type { ExactVisit } from '../transport.js';
import { INO_DIGITS, SIZE_DIGITS, TIME_DIGITS } from './stat-digits.js';
import { folderOf, ScanFormatError, segment } from './scan-protocol.js';

export const OP_LOOK = 20;

/**
 * The perl sub of the op; `walk_sorted`, `parts`, `entry_rec`, `penc` (scan-protocol.ts),
 * `parents_real`, `failure`, `flush`, `$out` are the helper's own.
 */
export const PERL_LOOK = String.raw`
my %LOOKED;
sub fkey { my @s = Time::HiRes::stat($_[0]); return undef unless @s; my $now = Time::HiRes::time() - 2;
  return undef if $s[9] > $now || $s[10] > $now; return join(",", @s[0, 1, 7], sprintf("%.0f", $s[9] * 1e9), sprintf("%.0f", $s[10] * 1e9)); }
sub mstat { my $mt = sprintf("%.0f", $_[9] * 1e9); return (join(",", $_[7], $mt, sprintf("%.0f", $_[10] * 1e9), $_[1], $_[2]), $mt); }
sub older { my ($x, $y) = @_; return length($x) != length($y) ? length($x) < length($y) : $x lt $y; }
sub look {
  my ($id, $man, $rest) = @_;
  return "err ENOSYS Time::HiRes is missing" unless $HIRES;
  my ($state, @skips) = split(/\0/, $rest);
  my %skip = map { ($_ => 1) } @skips;
  my @st = Time::HiRes::lstat($state);
  my $written = (@st && ($st[2] & 0170000) == 0100000) ? sprintf("%.0f", $st[9] * 1e9) : undef;
  my ($fh, $text, $n) = (undef, "");
  return failure() unless parents_real($man) && sysopen($fh, $man, O_RDONLY | O_NONBLOCK | $NOFOLLOW);
  if (!-f $fh) { close $fh; return "err EINVAL the manifest is not a file"; }
  my $k = fkey($fh);
  while ($n = sysread($fh, $text, 1 << 20, length $text)) {}
  if (!defined $n) { my $bad = failure(); close $fh; return $bad; }
  my ($sha, $size, %m) = (Digest::SHA::sha256_hex($text), length $text);
  $LOOKED{$man} = "$k $sha" if defined $k && $k eq (fkey($fh) // ""); close $fh;
  # Each line's stat (third field) by its path (the rest; none empty or quoted), as split by tabs
  # would give them, a later line of a path winning: one regex over the text (50,000 lines ~40 ms
  # against ~100 by split per line).
  while ($text =~ /^[^\t\n]*\t[^\t\n]*\t([^\t\n]*)\t([^"\n][^\n]*)$/mg) { $m{$2} = defined $written ? $1 : ""; }
  undef $text;
  my ($put, $end) = parts($id);
  my $matched = 0;
  my ($err, $count) = walk_sorted(\%skip, sub {
    my ($n, $p, $f, @s) = @_;
    my $want = delete $m{$p};
    return entry_rec($n, $f) unless $f == 0100000 || $f == 0120000;
    my ($r, $mt) = mstat(@s);
    # Equal text, so the recorded mtime is this one: racy unless strictly older than the state.
    if (defined $want && $want eq $r && older($mt, $written)) { $matched++; return undef; }
    return entry_rec($n, $f, $r);
  }, $put);
  return $err if defined $err;
  for (sort keys %m) { $put->("m" . join("/", map { penc($_) } split(m{/}, $_))); $count++; }
  $end->();
  return "ok $count $matched $sha $size";
}
`;

/** The main loop's branch for the op (`$p` is A, `$q` is B). */
export const PERL_LOOK_DISPATCH = String.raw`
  } elsif ($op == 20) {
    $answer = look($id, $p, $q);`;

/** What the look's answer says beyond its records. */
interface LookSummary {
  records: number;
  matched: number;
  sha256: string;
  size: number;
}

/** size, mtime, ctime, inode, mode (stat-digits.ts: what a manifest holds). */
const RECORD = new RegExp(
  ` ?([fldomD])([^ ,]*)(?:,${SIZE_DIGITS},${TIME_DIGITS},${TIME_DIGITS},${INO_DIGITS},${SIZE_DIGITS})?(?= |$)`,
  'y',
);
const TYPES: Readonly<Record<string, EntryType>> = { f: 'file', l: 'symlink', d: 'dir', o: 'other' };
const SUMMARY = /^(\d+) (\d+) ([0-9a-f]{64}) (\d+)$/;

/**
 * Reads the look's `part` payloads in order: each walked entry goes to `visit`,
 * each manifest path the walk did not reach to `missing`. Hostile-input checks are
 * ScanReader's (the same `segment`/`folderOf`): a name is one non-empty segment, a
 * folder or path clean segments.
 */
export class LookReader {
  private dir = '';
  count = 0;
  readonly missing: string[] = [];

  constructor(private readonly visit: ExactVisit) {}

  push(payload: string): void {
    RECORD.lastIndex = 0;
    let end = 0;
    for (let m = RECORD.exec(payload); m !== null; m = RECORD.exec(payload)) {
      end = RECORD.lastIndex;
      const kind = m[1]!;
      const withStat = kind === 'f' || kind === 'l';
      if (withStat !== (m[3] !== undefined)) throw bad(m[0]);
      if (kind === 'D') {
        this.dir = m[2] === '' ? '' : folderOf(m[2]!);
        continue;
      }
      this.count++;
      if (kind === 'm') {
        this.missing.push(folderOf(m[2]!));
        continue;
      }
      const stat = withStat
        ? { size: Number(m[3]), mtimeNs: m[4]!, ctimeNs: m[5]!, ino: m[6]!, mode: Number(m[7]) }
        : null;
      const name = segment(m[2]!);
      // Joined, not a template: a flat string of its own. A template's is a pair of the folder
      // and the name, itself a slice of the answer's text: kept alive by a stray's path until the
      // plan, 32 bytes more a path and the answer's parts (500,000 strays: node 165 → 131 MiB).
      this.visit(this.dir === '' ? name : [this.dir, name].join('/'), TYPES[kind]!, stat);
    }
    if (end !== payload.length && payload.slice(end).trim() !== '') throw bad(payload.slice(end));
  }
}

/** The answer's payload after `ok`; null when it is not a look's. */
export function parseLookSummary(payload: string): LookSummary | null {
  const m = SUMMARY.exec(payload);
  if (!m) return null;
  return { records: Number(m[1]), matched: Number(m[2]), sha256: m[3]!, size: Number(m[4]) };
}

function bad(record: string): ScanFormatError {
  return new ScanFormatError(`unexpected look record ${JSON.stringify(record.trim().slice(0, 80))}`);
}
