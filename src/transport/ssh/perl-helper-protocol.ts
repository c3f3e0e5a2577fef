import type { HashAlgorithm } from '../../diff/blob.js';
import { parseRecord } from './hash-commands.js';
import { shellQuote } from '../shell-quote.js';
import { OP_SCAN, OP_STATS, PERL_SCAN, PERL_SCAN_DISPATCH } from './scan-protocol.js';
import { OP_LOOK, PERL_LOOK, PERL_LOOK_DISPATCH } from './look-protocol.js';
import { OP_PATCH, PERL_PATCH, PERL_PATCH_DISPATCH } from './patch-protocol.js';
import { OP_BULK_WRITE, PERL_BULK, PERL_BULK_DISPATCH } from './bulk-write-protocol.js';
import { OP_KEEP_MANY, OP_REMOVE_MANY, PERL_MANY, PERL_MANY_DISPATCH } from './many-ops-protocol.js';
import { OP_READ, PERL_READ_DISPATCH } from './read-protocol.js';
import { OP_COPY, PERL_COPY_DISPATCH } from './copy-protocol.js';
import {
  OP_CHMOD,
  OP_READLINK,
  OP_RMDIR,
  OP_ROOT,
  OP_SYMLINK,
  PERL_ROOT,
  PERL_ROOT_DISPATCH,
  PERL_SMALL_OPS_DISPATCH,
} from './shell-ops-protocol.js';

/**
 * Bulk file operations on an SSH host through one long-lived perl process,
 * fed over one exec channel. Over SFTP every file costs four requests and
 * four replies (open, write, fchmod, close), each its own SSH packet to
 * encrypt and send, and a rename one more; for thousands of small files that
 * per-packet work, not the bytes, is the cost. Here operations are records
 * streamed back to back (many per SSH packet), and perl answers each with one
 * short line once it is done, so a caller still learns when its own file is
 * written and closed. Hashing goes through the same process, which spares a
 * new exec (a channel and a process start) per batch. Pure: the script, the
 * record encoding and the answer parser; perl-helper-client.ts runs them. Used only where
 * the host has perl with Digest::SHA (the probe of hash-commands.ts); elsewhere
 * SFTP (and exec) do everything.
 *
 * Record (big-endian): u32 id · u32 op (its high bit: chained, see CHAIN_FLAG) · u32 mode (write: permission bits,
 * plus 0o200000 for an fsync, 0o400000 to hash the data as it is written,
 * with 0o1000000 for sha256) · u32 length of A · u32 length of B · u32 high
 * and u32 low word of the data length · A · B · data. A and B are paths
 * relative to the target root, as bytes; for `hash`, A is the NUL-separated
 * list of paths.
 *
 * - write (1): create or truncate A (never through a symlink), write the data,
 *   set the mode exactly, fsync if asked, close. With the hash flag, the answer's
 *   payload is the git blob id of the data, hashed as it went into the file: the
 *   check a second pass (hash) would make, without reading the file back.
 * - rename (2): rename(2) A to B.
 * - link (3): link(2) A to B.
 *
 * Write, rename, link and unlink first lstat every parent of A (and B), right before
 * the call: a link or a non-folder there is ELOOP, never followed.
 * - unlink (5): unlink(2) A; a missing A is fine.
 * - hash (4): git blob ids of the paths in A (records as in hash-commands.ts);
 *   mode names the algorithm as Digest::SHA does: 1 (sha1) or 256 (sha256).
 * - chdir (6): the first record. The helper starts in the login folder, in
 *   parallel with the SFTP session (each costs a remote shell start), before
 *   the target folder is resolved; it moves into A and serves from there. If
 *   it cannot, it exits: the paths it would see are not the target's. With
 *   mode CHDIR_SOFT it answers the error instead and stays where it was: the
 *   connection's first look, sent right behind the root's record (root, 21),
 *   before the host has said the folder is there (helper-peek.ts `atConnect`).
 * - sync (7): empty A: syncfs(2) of the file system, called directly on x86_64 and
 *   aarch64 Linux, else `sync -f .`; else fsync(2) each NUL-separated path in A
 *   (a missing one is fine, a link is skipped).
 * - rmtree (8): `rm -rf -- ./A` (never follows links), after the parents check;
 *   nothing to run where A is absent (a deploy's first look at its staging folder),
 *   and a tree of up to SMALL_TREE entries is removed by the helper itself.
 * - list (9): the entries of folder A (`.` when empty), each with its lstat, in
 *   one answer (SFTP needs four round trips: opendir, readdir until the end,
 *   close). A and its parents must be real folders (ELOOP otherwise). Payload:
 *   one record per entry, space-separated: hex of the name, then mode, size,
 *   mtime (s), uid, gid, comma-separated. An entry gone before its lstat is left out.
 * - peek (10): what a deploy reads before it plans (its state folder: state,
 *   journal, lock, their folders), in one round trip instead of one or four
 *   SFTP round trips per path (helper-peek.ts). A: NUL-separated paths to lstat;
 *   B: NUL-separated paths among them to read (a regular file of at most 1 MiB)
 *   or list (a folder), only where every parent is a real folder and never
 *   through a link. Payload: one record per path of A, space-separated: `-`
 *   absent, `!` not readable, else mode, size, mtime (s), uid, gid,
 *   comma-separated, then for a path of B `,f` and the file's bytes in hex, or
 *   `,d` and the folder's names in hex, `.`-separated.
 * - mkdir (11): mkdir -p of A, never through a link (ELOOP); when the last
 *   folder of A is made here, its mode is then set to exactly `mode`
 *   (helper-mkdir.ts: a state folder in one round trip, not six), unless mode
 *   holds UMASK_FLAG (mkdirp: every folder made as mkdir(2) makes it, 0777 less the umask).
 * - scan (12) and stats (13): authoritative mode's walk and exact lstats (scan-protocol.ts).
 * - look (20): the walk compared with the manifest's stat cache on the host (look-protocol.ts).
 * - patch (26): a file made from another one on the host and a few edits (patch-protocol.ts).
 * - bulk write (30): many small files in one record, each written as write (1) does (bulk-write-protocol.ts).
 * - read (16): a regular file whole, in raw `bytes` frames (read-protocol.ts).
 * - copy (27): a regular file copied on the host, 1 MiB at a time (copy-protocol.ts).
 * - root (21): the target folder checked, made if asked, and resolved, before chdir (shell-ops-protocol.ts).
 * - rmdir (22), symlink (23), readlink (24), chmod (25): shell-ops-protocol.ts.
 * - release (15): remove A only if it is a regular file (at most 1 MiB, never
 *   read through a link) whose bytes start with B: a lock's release, which checks and
 *   removes in one round trip. Payload `1` removed, `0` not (absent, a link, or
 *   another owner's).
 * - excl (14): create A exclusively with the data (a lock): written whole
 *   under the new name B beside it (O_EXCL, never through a link), mode set,
 *   fsync'd, closed, then published by link(2) to A, and B removed: A is
 *   never seen empty. Payload `1` created, `0` A exists (EEXIST); any other
 *   link(2) error is told (no hard links here: the caller publishes another way).
 *
 * sync and rmtree run their tool directly (fork and exec, stdin from
 * /dev/null, its output to stderr), never through a shell: a host whose rc file
 * is slow pays its cost once per connection, for the helper itself.
 *
 * Answer: one line per record: `<id> ok[ <payload>]`, or `<id> err <ERRNO> <text>`;
 * an op with a long answer (scan) sends it ahead in `<id> part <payload>` lines.
 * (ERRNO as in errno.h, e.g. ENOENT; `?` when unknown). Before the first
 * answer the script prints the READY line, so that anything a login script
 * printed ahead of it is skipped.
 */

/** The line the helper prints when it starts; output before it is not the helper's. */
export const READY = 'diffship-ops ready';
/**
 * The most entries an rmtree removes itself: an update's expired backup, an emptied staging. A
 * bigger tree goes to rm: measured here, the helper takes ~27 µs an entry (each unlink checks the
 * parents), rm -rf ~6 ms to start and ~13 µs an entry, even at ~400 entries.
 */
export const SMALL_TREE = 256;

export const OP_WRITE = 1;
export const OP_RENAME = 2;
export const OP_LINK = 3;
export const OP_HASH = 4;
export const OP_UNLINK = 5;
export const OP_CHDIR = 6;
/** chdir's mode: a folder it cannot move into is an error answer, not the helper's exit. */
export const CHDIR_SOFT = 1;
export const OP_SYNC = 7;
export const OP_RMTREE = 8;
export const OP_LIST = 9;
export const OP_PEEK = 10;
export const OP_MKDIR = 11;
export const OP_EXCL = 14;
export const OP_RELEASE = 15;
export type Op =
  | typeof OP_WRITE
  | typeof OP_RENAME
  | typeof OP_LINK
  | typeof OP_HASH
  | typeof OP_UNLINK
  | typeof OP_CHDIR
  | typeof OP_SYNC
  | typeof OP_RMTREE
  | typeof OP_LIST
  | typeof OP_PEEK
  | typeof OP_MKDIR
  | typeof OP_EXCL
  | typeof OP_RELEASE
  | typeof OP_SCAN
  | typeof OP_STATS
  | typeof OP_LOOK
  | typeof OP_PATCH
  | typeof OP_ROOT
  | typeof OP_RMDIR
  | typeof OP_SYMLINK
  | typeof OP_READLINK
  | typeof OP_CHMOD
  | typeof OP_READ
  | typeof OP_COPY
  | typeof OP_BULK_WRITE
  | typeof OP_KEEP_MANY
  | typeof OP_REMOVE_MANY;
/**
 * In a record's op: run it only if the record right before it on the channel succeeded, else
 * answer ECANCELED (its data still read off the stream). Records sent in one synchronous turn
 * are adjacent on the channel (perl-helper-client.ts's outbox), so a sequence such as write,
 * sync, rename goes in one round trip and stops at its first failure, as awaiting each would.
 */
const CHAIN_FLAG = 0x80000000;
/** In a write record's mode: fsync the file before answering. */
export const SYNC_FLAG = 0o200000;
/** In a mkdir record's mode: leave the folders made as the umask has them (no chmod). */
export const UMASK_FLAG = 0o200000;
/** In a write record's mode: hash the data as it is written; the answer's payload is its blob id. */
export const HASH_FLAG = 0o400000;
/** With HASH_FLAG: a sha256 blob id (sha1 without it). */
export const SHA256_FLAG = 0o1000000;
const HEADER = 28;

const PERL = [
  'use strict; use Fcntl; use Errno;',
  // IO::Handle (fsync), Digest::SHA (blob ids) and POSIX (the bulk write's bare descriptors) are
  // about half of perl's start: they load once the helper first waits for input (the caller is
  // busy or its next record on the way), or for the first record that may need them (every op
  // but the plain ones listed in the loop), not ahead of the ready line. Digest::SHA's presence is still a condition of the helper running.
  'exit 6 unless grep { !ref && -f "$_/Digest/SHA.pm" } @INC;',
  'my $late = 1;',
  'sub late { return unless $late; $late = 0; require IO::Handle; require Digest::SHA; require POSIX; }',
  'binmode STDIN; binmode STDOUT;',
  // Linux: a 1 MiB stdin pipe (F_SETPIPE_SZ; 64 KiB by default), so sshd hands a big file over in
  // bigger reads and wakes this process less often. Refused (a limit, not a pipe): the default stays.
  'fcntl(STDIN, 1031, 1 << 20) if $^O eq "linux";',
  'my $NOFOLLOW = eval { O_NOFOLLOW() } || 0;',
  // Input is read in large blocks into $buf and consumed from offset $at (no copying per record).
  "my ($buf, $at, $out, $rin) = ('', 0, '', '');",
  'vec($rin, fileno(STDIN), 1) = 1;',
  // The marker ends whatever a login script printed first (see READY).
  `syswrite(STDOUT, "\\n${READY}\\n");`,
  // Answers wait in $out and go out whenever reading on would block, or once 2 KiB have gathered
  // (so a caller waiting on answers refills the pipe while the host works on): many per packet
  // (each packet costs the caller a decryption; a staged file's answer with its blob id is ~50
  // bytes), none held back.
  'sub flush { while (length $out) { my $n = syswrite(STDOUT, $out); exit 3 unless defined $n; substr($out, 0, $n, ""); } }',
  'sub fill {',
  '  if (!select(my $r = $rin, undef, undef, 0)) { flush(); late(); }',
  '  if ($at > 0) { substr($buf, 0, $at, ""); $at = 0; }',
  '  my $n = sysread(STDIN, $buf, 1 << 20, length $buf);',
  '  if (!$n) { flush(); exit 0 }',
  '}',
  'sub take { my $n = shift; fill() while length($buf) - $at < $n; my $s = substr($buf, $at, $n); $at += $n; return $s; }',
  // No-follow resolution: every parent of a path must be a real folder at the moment of the call
  // (a link there would redirect the write); ELOOP otherwise. A missing parent, or a file, fails the call itself.
  'sub parents_real { my @c = split m{/}, shift; pop @c; my $d = "."; for (@c) { $d .= "/$_"; return 1 unless lstat($d); return 1 if -f _; if (-l _ || !-d _) { $! = Errno::ELOOP(); return 0; } } return 1; }',
  // A file to read (read, copy): every parent real, no link followed, O_NONBLOCK so a FIFO never
  // hangs the open; only a regular file (EISDIR, EINVAL otherwise). The handle, or undef with $! set.
  'sub open_regular { my $fh; return undef unless parents_real($_[0]) && sysopen($fh, $_[0], O_RDONLY | O_NONBLOCK | $NOFOLLOW);',
  '  return $fh if -f $fh; my $e = -d _ ? Errno::EISDIR() : Errno::EINVAL(); close $fh; $! = $e; return undef; }',
  // The name of $!'s errno (ENOENT), "?" where perl knows none.
  'sub errname { my ($n) = grep { $!{$_} } keys %!; return $n || "?"; }',
  'sub failure { my $t = "$!"; $t =~ s/[\\r\\n]+/ /g; return "err " . errname() . " $t"; }',
  // A tool run without a shell: stdin from /dev/null, its output to stderr (stdout carries the answers).
  'sub tool { my $pid = fork(); return 255 << 8 unless defined $pid;',
  '  if (!$pid) { open(STDIN, "<", "/dev/null"); open(STDOUT, ">&", \\*STDERR); exec { $_[0] } @_; exit 127; }',
  '  waitpid($pid, 0); return $?; }',
  // rmtree's usual cases, a small tree (a deploy's staging once its files are in place, an
  // expired backup of an update) removed here: a fork of the helper and an exec of rm spared. A
  // file or a link is unlinked (a link itself, never what it names), a folder emptied then
  // rmdir'ed. More than SMALL_TREE entries, or anything that will not go (a folder filled
  // meanwhile), leaves the rest to rm. Each unlink and rmdir checks its parents first, as every
  // other op does (a folder swapped for a link).
  'sub small_tree_gone { my ($d, $left) = @_; my $dh; return 0 unless opendir($dh, $d);',
  '  my @n = grep { $_ ne "." && $_ ne ".." } readdir $dh; closedir $dh; return 0 if ($$left -= @n) < 0;',
  '  for my $n (@n) { my $e = "$d/$n"; lstat($e) or return 0;',
  '    if (-d _) { return 0 unless small_tree_gone($e, $left) } else { return 0 unless parents_real($e) && unlink($e) } }',
  '  return parents_real($d) && rmdir($d) ? 1 : 0; }',
  // syncfs(2) of the target's file system called by its number where perl's build says which
  // (x86_64 306, aarch64 267; not x32): a sync process spared. Elsewhere, or refused: false.
  'sub syncfs_here { require Config; my ($arch) = $Config::Config{archname} =~ /^(x86_64|aarch64)-linux(?!-gnux32)/;',
  '  my $nr = { x86_64 => 306, aarch64 => 267 }->{$arch || ""}; my $fh; return 0 unless $nr && sysopen($fh, ".", O_RDONLY);',
  '  my $r = syscall($nr, fileno($fh)); close $fh; return defined $r && $r == 0; }',
  'sub fsync_all { for (split(/\\0/, shift, -1)) {',
  '  my $fh; if (!sysopen($fh, $_, O_RDONLY | $NOFOLLOW)) { next if $!{ENOENT} || $!{ELOOP}; return failure(); }',
  '  my $ok = $fh->sync; my $f = $ok ? "" : failure(); close $fh; return $f unless $ok; } return "ok"; }',
  'sub blob {',
  '  my ($p, $alg) = @_;',
  '  if (-l $p) { my $t = readlink $p; return defined $t ? Digest::SHA->new($alg)->add("blob " . length($t) . "\\0" . $t)->hexdigest : "!"; }',
  '  return "-" unless -f _;',
  '  open(my $f, "<:raw", $p) or return "!";',
  '  my $d = Digest::SHA->new($alg); $d->add("blob " . (stat($f))[7] . "\\0"); $d->addfile($f); close $f;',
  '  return $d->hexdigest;',
  '}',
  // peek (10): lstat, and for a wanted path its bytes (a file up to 1 MiB) or its names (a folder).
  'sub peek { my ($p, $more) = @_; my @s = lstat($p);',
  '  return ($!{ENOENT} || $!{ENOTDIR}) ? "-" : "!" unless @s;',
  '  my $r = join(",", @s[2, 7, 9, 4, 5]); my $t = $s[2] & 0170000;',
  '  return $r unless $more && parents_real($p);',
  '  if ($t == 0100000 && $s[7] <= 1048576) { my ($fh, $d, $n) = (undef, "");',
  '    return $r unless sysopen($fh, $p, O_RDONLY | O_NONBLOCK | $NOFOLLOW);',
  '    while ($n = sysread($fh, $d, 65536, length $d)) { last if length $d > 1048576 }',
  '    close $fh; $r .= ",f" . unpack("H*", $d) if defined $n && length $d <= 1048576;',
  '  } elsif ($t == 0040000) { my $dh; return $r unless opendir($dh, $p);',
  '    $r .= ",d" . join(".", map { unpack("H*", $_) } grep { $_ ne "." && $_ ne ".." } readdir $dh); closedir $dh; }',
  '  return $r; }',
  // mkdir (11): each level a real folder or made; the last one, if made here, gets the mode exactly.
  'sub mkdirs { my ($p, $mode) = @_; my ($d, $made) = (".", 0);',
  '  for (split m{/}, $p) { $d .= "/$_"; $made = 0;',
  '    if (lstat($d)) { next if -d _ && !-l _; $! = -l _ ? Errno::ELOOP() : Errno::ENOTDIR(); return failure(); }',
  '    return failure() unless $!{ENOENT};',
  '    if (mkdir($d, 0777)) { $made = 1 } elsif (!($!{EEXIST} && lstat($d) && -d _ && !-l _)) { return failure() } }',
  '  return ($made && !($mode & 0200000) && !chmod($mode & 07777, $d)) ? failure() : "ok"; }',
  PERL_SCAN,
  PERL_LOOK,
  PERL_PATCH,
  PERL_ROOT,
  PERL_BULK,
  PERL_MANY,
  // Ops that need neither IO::Handle nor Digest::SHA: chdir, peek, mkdir, list, rename, link,
  // unlink, rmtree, release, ops 21-25 (root, rmdir, symlink, readlink, chmod), 31-32 (many).
  'my %PLAIN = map { $_ => 1 } (2, 3, 5, 6, 8, 9, 10, 11, 15, 21, 22, 23, 24, 25, 31, 32);',
  // A chained record (CHAIN_FLAG) runs only if the record right before it succeeded.
  'my $failed = 0;',
  'while (1) {',
  '  my ($id, $op, $mode, $la, $lb, $hi, $lo) = unpack("N7", take(28));',
  '  my $p = take($la); my $q = take($lb); my $left = $hi * 4294967296 + $lo;',
  '  my $chained = $op >= 2147483648; $op -= 2147483648 if $chained;',
  '  my $answer = "ok";',
  '  late() unless $PLAIN{$op};',
  '  if ($chained && $failed) {',
  '    while ($left > 0) { fill() if length($buf) == $at; my $n = length($buf) - $at; $n = $left if $left < $n; $at += $n; $left -= $n; }',
  '    $answer = "err ECANCELED not run: the record before it failed";',
  '  } elsif ($op == 1) {',
  '    my $fh;',
  '    (parents_real($p) && sysopen($fh, $p, O_WRONLY | O_CREAT | O_TRUNC | $NOFOLLOW, $mode & 07777)) or do { $answer = failure(); undef $fh };',
  // The data is read off the stream whatever happens, so the next record starts in the right place.
  // Hashed as written (HASH_FLAG): the blob id of the bytes that reached the file, without reading it back.
  '    my $d = ($mode & 0400000) ? Digest::SHA->new(($mode & 01000000) ? 256 : 1) : undef;',
  '    $d->add("blob $left\\0") if $d;',
  '    while ($left > 0) {',
  '      fill() if length($buf) == $at;',
  '      my $n = length($buf) - $at; $n = $left if $left < $n;',
  '      my $done = 0;',
  '      while ($fh && $answer eq "ok" && $done < $n) {',
  '        my $w = syswrite($fh, $buf, $n - $done, $at + $done);',
  '        if (defined $w) { $done += $w } else { $answer = failure() }',
  '      }',
  '      $d->add(substr($buf, $at, $n)) if $d;',
  '      $at += $n; $left -= $n;',
  '    }',
  '    if ($fh) {',
  '      if ($answer eq "ok") { chmod($mode & 07777, $fh) or $answer = failure(); }',
  '      if ($answer eq "ok" && ($mode & 0200000)) { $fh->sync or $answer = failure(); }',
  '      if (!close($fh) && $answer eq "ok") { $answer = failure(); }',
  '      $answer .= " " . $d->hexdigest if $d && $answer eq "ok";',
  '    }',
  '  } elsif ($op == 2) {',
  '    (parents_real($p) && parents_real($q) && rename($p, $q)) or $answer = failure();',
  '  } elsif ($op == 3) {',
  '    (parents_real($p) && parents_real($q) && link($p, $q)) or $answer = failure();',
  // unlink: a missing file is done already (ENOENT is ok), as the transport's unlink says.
  '  } elsif ($op == 5) {',
  '    (parents_real($p) && (unlink($p) || $!{ENOENT} || $!{ENOTDIR})) or $answer = failure();',
  '  } elsif ($op == 6) {',
  '    if (!chdir($p)) { if ($mode & 1) { $answer = failure() } else { flush(); exit 5 } }',
  '  } elsif ($op == 7) {',
  '    if ($la > 0) { $answer = fsync_all($p) } elsif (!syncfs_here() && tool("sync", "-f", ".") != 0) { $answer = "err ENOSYS sync -f failed" }',
  '  } elsif ($op == 8) {',
  `    if (!parents_real($p)) { $answer = failure() } elsif (!lstat("./$p") && $!{ENOENT}) { } elsif (-d _ && !-l _ && small_tree_gone("./$p", \\(my $n = ${SMALL_TREE}))) { } elsif ((my $s = tool("rm", "-rf", "--", "./$p")) != 0) { $answer = "err EIO rm -rf exited " . ($s >> 8) }`,
  '  } elsif ($op == 9) {',
  '    my $d = $la ? $p : "."; my $dh;',
  '    if (!parents_real("$d/x") || !opendir($dh, $d)) { $answer = failure() }',
  '    else { my @e; for my $n (readdir $dh) { next if $n eq "." || $n eq ".."; my @s = lstat("$d/$n") or next; push @e, join(",", unpack("H*", $n), @s[2, 7, 9, 4, 5]); } closedir $dh; $answer = join(" ", "ok", @e); }',
  '  } elsif ($op == 10) {',
  '    my %more = map { $_ => 1 } split(/\\0/, $q, -1);',
  '    $answer = join(" ", "ok", map { peek($_, $more{$_}) } split(/\\0/, $p, -1));',
  '  } elsif ($op == 11) {',
  '    $answer = mkdirs($p, $mode);',
  '  } elsif ($op == 14) {',
  '    my $d = take($left); my $fh;',
  '    if (!(parents_real($p) && parents_real($q) && sysopen($fh, $q, O_WRONLY | O_CREAT | O_EXCL | $NOFOLLOW, $mode & 07777))) { $answer = failure() }',
  '    else { my $w = syswrite($fh, $d);',
  '      $answer = failure() unless defined $w && $w == length $d && chmod($mode & 07777, $fh) && $fh->sync;',
  '      if (!close($fh) && $answer eq "ok") { $answer = failure() }',
  '      if ($answer eq "ok") { $answer = link($q, $p) ? "ok 1" : $!{EEXIST} ? "ok 0" : failure() }',
  '      unlink($q); }',
  // release: A removed only while it starts with the bytes B (its owner's mark); never read through a link.
  '  } elsif ($op == 15) {',
  '    my ($fh, $c) = (undef, "");',
  '    if (!parents_real($p)) { $answer = failure() }',
  '    elsif (!sysopen($fh, $p, O_RDONLY | $NOFOLLOW)) { $answer = ($!{ENOENT} || $!{ELOOP} || $!{ENOTDIR}) ? "ok 0" : failure() }',
  '    else { my $ok = -f $fh && -s _ <= 1048576 && defined sysread($fh, $c, 1048576); close $fh;',
  '      $answer = (!$ok || index($c, $q) != 0) ? "ok 0" : (unlink($p) || $!{ENOENT}) ? "ok 1" : failure(); }',
  '  } elsif ($op == 4) {',
  '    my $alg = $mode == 256 ? 256 : 1;',
  '    $answer = join(" ", "ok", map { blob($_, $alg) } split(/\\0/, $p, -1));',
  PERL_SCAN_DISPATCH,
  PERL_LOOK_DISPATCH,
  PERL_PATCH_DISPATCH,
  PERL_ROOT_DISPATCH,
  PERL_SMALL_OPS_DISPATCH,
  PERL_READ_DISPATCH,
  PERL_COPY_DISPATCH,
  PERL_BULK_DISPATCH,
  PERL_MANY_DISPATCH,
  '  } else { exit 4; }',
  '  $failed = substr($answer, 0, 4) eq "err ";',
  '  $out .= "$id $answer\\n";',
  '  flush() if length($out) >= 2048;',
  '}',
].join('\n');

/** Shell command (run in the target root) that serves records on stdin until it ends. */
export function remoteOpsCommand(): string {
  return `exec perl -e ${shellQuote(PERL)}`;
}

/** One record, header and paths (the data is sent after it, as is, to spare a copy). */
export function encodeRecord(
  id: number,
  op: Op,
  a: string,
  options: { b?: string; mode?: number; dataLength?: number; chained?: boolean } = {},
): Buffer {
  const b = options.b ?? '';
  const la = Buffer.byteLength(a, 'utf8');
  const lb = Buffer.byteLength(b, 'utf8');
  const length = options.dataLength ?? 0;
  // One buffer, every byte of it written below (a record per file: no zero fill, no copies).
  const header = Buffer.allocUnsafe(HEADER + la + lb);
  header.writeUInt32BE(id >>> 0, 0);
  header.writeUInt32BE(options.chained ? op + CHAIN_FLAG : op, 4);
  header.writeUInt32BE((options.mode ?? 0) >>> 0, 8);
  header.writeUInt32BE(la, 12);
  header.writeUInt32BE(lb, 16);
  header.writeUInt32BE(Math.floor(length / 2 ** 32), 20);
  header.writeUInt32BE(length % 2 ** 32, 24);
  header.write(a, HEADER, 'utf8');
  header.write(b, HEADER + la, 'utf8');
  return header;
}

/** The A of a hash record: the paths, NUL-separated (a path never holds a NUL). */
export function hashList(paths: readonly string[]): string {
  return paths.join('\0');
}

/**
 * The hash answer's payload: one record per path (a blob id of `algorithm`, sha1 by default;
 * null for missing or a folder; `!` unreadable).
 */
export function parseHashPayload(
  payload: string,
  count: number,
  algorithm: HashAlgorithm = 'sha1',
): Array<string | null | '!'> | null {
  const records = payload === '' ? [] : payload.split(' ');
  if (records.length !== count) return null;
  return records.map((r) => parseRecord(r, algorithm));
}

/** One entry of a list answer: its name and lstat fields (as SFTP gives them: mtime in seconds). */
export interface ListedEntry {
  name: string;
  mode: number;
  size: number;
  mtime: number;
  uid: number;
  gid: number;
}

/** The list answer's payload; null when it is not one (the caller lists over SFTP instead). */
export function parseListPayload(payload: string): ListedEntry[] | null {
  if (payload === '') return [];
  const entries: ListedEntry[] = [];
  for (const record of payload.split(' ')) {
    const m = /^((?:[0-9a-f]{2})+),(\d+),(\d+),(-?\d+),(\d+),(\d+)$/.exec(record);
    if (!m) return null;
    entries.push({
      name: Buffer.from(m[1]!, 'hex').toString('utf8'),
      mode: Number(m[2]),
      size: Number(m[3]),
      mtime: Number(m[4]),
      uid: Number(m[5]),
      gid: Number(m[6]),
    });
  }
  return entries;
}
