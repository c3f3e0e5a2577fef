/**
 * The file helper's bulk write (op 30, perl-helper-protocol.ts): many small
 * files in one record, so that a first deploy of 20,000 files costs this side
 * one record, one promise and one answer per batch of a few hundred files, not
 * per file. Pure: the perl, the record's list and the answer's parsing;
 * bulk-write.ts sends it.
 *
 * Record: mode holds the hash flags of a write (HASH_FLAG is implied; with
 * SHA256_FLAG, sha256 blob ids); A is the files, NUL-separated, each
 * `<permission bits, octal> <size> <path>`; the data is the files' bytes,
 * back to back, in that order (the sizes add up to the data length).
 *
 * Each file is written as write (1) writes one: its parents checked real
 * folders (each folder once per record, right before the first file in it:
 * a batch's files share a few folders, and 6 lstats per file were a third of
 * the host's system calls), created or truncated, never through a link, written,
 * its mode set exactly, closed (no fsync: the caller syncs the batch later,
 * syncfs), hashed as it is written. After the first file that fails, the rest
 * are not written, but the data is still read off the stream, so that the
 * next record starts in the right place (a list whose sizes do not add up to
 * the data length fails whole, its data skipped).
 *
 * Per file, the system calls are few (file creation is most of the host's
 * time on a first deploy): a new file is made with O_EXCL on a bare
 * descriptor (POSIX::open: no PerlIO layer, which costs an ioctl, an lseek
 * and an fstat per handle), and where the umask takes none of its permission
 * bits (and it has no setuid, setgid or sticky bit) the creation mode is
 * already exact, so no fchmod follows. A path that exists already (EEXIST)
 * goes the old way: truncated through a handle, its mode set by fchmod. A
 * file whose bytes are all in the input buffer is hashed in one call, not
 * through a Digest::SHA object.
 *
 * After a record that wrote files, a child process runs syncfs(2) of the file
 * system (x86_64 and aarch64 Linux, at most one at a time): the host's disk
 * writes the batches while the next ones arrive, instead of all of them in the
 * final sync, which still runs (sync-written.ts) and alone makes them durable.
 * One child does it for the whole session, forked at the first such record and
 * asked over a pipe: a fork per record (158 at 20,000 files) made every page
 * the helper then wrote a copy-on-write fault with a TLB flush on each core
 * (the helper's CPU at 20,000 files: 3.9 s, 1.1 s with one child). Its stdio
 * is closed (it never holds the channel open); it ends when the helper does
 * (its pipe's end). Where it cannot be started or stops answering, the syncs
 * ahead stop; the final sync does not depend on them.
 *
 * Answer: `ok <blob id> <blob id> …`, one per file, in order; or
 * `err <ERRNO> #<index> <text>` naming the first file that failed.
 */

export const OP_BULK_WRITE = 30;

/** The perl sub of op 30; `fill`, `failure`, `$buf`, `$at`, `$NOFOLLOW` are the helper's own. */
export const PERL_BULK = String.raw`
my $BULK_UMASK = umask; my ($bulk_req, $bulk_done, $bulk_busy, $bulk_pid, $BULK_SYNCFS);
sub bulk_skip { my $k = shift; while ($k > 0) { fill() if length($buf) == $at; my $c = length($buf) - $at; $c = $k if $k < $c; $at += $c; $k -= $c; } }
sub bulk_parents { my ($path, $real) = @_; my @c = split m{/}, $path; pop @c; my $d = ".";
  for (@c) { $d .= "/$_"; next if $real->{$d}; return 1 unless lstat($d); return 1 if -f _; if (-l _ || !-d _) { $! = Errno::ELOOP(); return 0; } $real->{$d} = 1; } return 1; }
# A new file on a bare descriptor, its creation mode exact: (fd, undef); (undef, undef) where the
# old way must make it (it exists, or its mode needs the fchmod); (undef, error) when it cannot be.
sub bulk_new { my ($path, $perm) = @_; return (undef, undef) if $perm & (07000 | $BULK_UMASK);
  my $fd = POSIX::open($path, O_WRONLY | O_CREAT | O_EXCL | $NOFOLLOW, $perm);
  return defined $fd ? ($fd, undef) : $!{EEXIST} ? (undef, undef) : (undef, failure()); }
sub bulk_one { my ($path, $perm, $n, $alg, $real) = @_; my ($fh, $fd, $f);
  if (!bulk_parents($path, $real)) { $f = failure() } else { ($fd, $f) = bulk_new($path, $perm) }
  if (!defined $fd && !defined $f) { sysopen($fh, $path, O_WRONLY | O_CREAT | O_TRUNC | $NOFOLLOW, $perm) or $f = failure() }
  if (defined $f) { bulk_skip($n); return (undef, $f) }
  $f = "ok"; my ($d, $id, $size) = (undef, undef, $n);
  while ($n > 0) { fill() if length($buf) == $at; my $c = length($buf) - $at; $c = $n if $n < $c;
    my $s = substr($buf, $at, $c); my $done = 0;
    while ($f eq "ok" && $done < $c) { my $w = $fh ? syswrite($fh, $s, $c - $done, $done) : POSIX::write($fd, $done ? substr($s, $done) : $s, $c - $done); if (defined $w) { $done += $w } else { $f = failure() } }
    if ($f eq "ok") { if ($c == $size) { $id = $alg == 256 ? Digest::SHA::sha256_hex("blob $size\0", $s) : Digest::SHA::sha1_hex("blob $size\0", $s) }
      else { $d ||= Digest::SHA->new($alg)->add("blob $size\0"); $d->add($s) } }
    $at += $c; $n -= $c; }
  if ($size == 0) { $id = $alg == 256 ? Digest::SHA::sha256_hex("blob 0\0") : Digest::SHA::sha1_hex("blob 0\0") }
  if ($fh) { if ($f eq "ok") { chmod($perm, $fh) or $f = failure(); } if (!close($fh) && $f eq "ok") { $f = failure(); } }
  elsif (!defined POSIX::close($fd) && $f eq "ok") { $f = failure(); }
  return $f eq "ok" ? ($id // $d->hexdigest, $f) : (undef, $f); }
# syncfs(2) by the session's sync child while the next batches arrive; the final sync still makes
# them durable. A byte asks it for one, its byte back says it is done.
sub bulk_syncer { pipe(my $qr, my $qw) or return 0; pipe(my $dr, my $dw) or return 0; my $pid = fork(); return 0 unless defined $pid;
  if (!$pid) { POSIX::close($_) for 0 .. 2; close $qw; close $dr; my $fh; POSIX::_exit(0) unless sysopen($fh, ".", O_RDONLY);
    while (sysread($qr, my $x, 1)) { syscall($BULK_SYNCFS, fileno($fh)); syswrite($dw, "x") or last; } POSIX::_exit(0); }
  close $qr; close $dw; ($bulk_req, $bulk_done, $bulk_busy, $bulk_pid) = ($qw, $dr, 0, $pid); return 1; }
# No more syncs ahead: the pipes closed (a live child ends at their end), a dead one reaped.
sub bulk_sync_off { $BULK_SYNCFS = 0; close $bulk_req if $bulk_req; close $bulk_done if $bulk_done; ($bulk_req, $bulk_done) = ();
  waitpid($bulk_pid, POSIX::WNOHANG()) if $bulk_pid; $bulk_pid = undef; return; }
sub bulk_sync_ahead {
  $BULK_SYNCFS //= do { require Config; my ($arch) = $Config::Config{archname} =~ /^(x86_64|aarch64)-linux(?!-gnux32)/; { x86_64 => 306, aarch64 => 267 }->{$arch || ""} || 0 };
  return unless $BULK_SYNCFS; return bulk_sync_off() unless $bulk_req || bulk_syncer();
  if ($bulk_busy) { my $v = ""; vec($v, fileno($bulk_done), 1) = 1; return unless select($v, undef, undef, 0) > 0;
    return bulk_sync_off() unless sysread($bulk_done, my $x, 1); $bulk_busy = 0; }
  local $SIG{PIPE} = "IGNORE"; return bulk_sync_off() unless syswrite($bulk_req, "x"); $bulk_busy = 1; }
sub bulk { my ($p, $mode, $left) = @_; my $alg = ($mode & 01000000) ? 256 : 1; my (@e, @ids, $sum, %real);
  for (split(/\0/, $p, -1)) { my @f = split(/ /, $_, 3); return do { bulk_skip($left); "err EINVAL a bad entry in the list" } unless @f == 3 && $f[0] =~ /^[0-7]{1,4}$/ && $f[1] =~ /^\d{1,15}$/ && length $f[2]; push @e, \@f; $sum += $f[1]; }
  return do { bulk_skip($left); "err EINVAL the sizes add up to $sum, not $left" } unless $sum == $left;
  for my $i (0 .. $#e) { my ($perm, $n, $path) = @{$e[$i]};
    my ($id, $f) = bulk_one($path, oct($perm), $n, $alg, \%real);
    if (!defined $id) { $f =~ s/^err (\S+) ?/err $1 #$i /; bulk_skip($left - $n); return $f; }
    push @ids, $id; $left -= $n; }
  bulk_sync_ahead() if @ids;
  return join(" ", "ok", @ids); }`;

export const PERL_BULK_DISPATCH = String.raw`
  } elsif ($op == 30) {
    $answer = bulk($p, $mode, $left);`;

/** One file of a bulk write: its path relative to the target root, permission bits, and bytes. */
export interface BulkFile {
  rel: string;
  mode: number;
  data: Buffer;
}

/** The record's A: the files' entries (a path never holds a NUL). */
export function bulkList(files: readonly BulkFile[]): string {
  return files.map((f) => `${(f.mode & 0o7777).toString(8)} ${f.data.length} ${f.rel}`).join('\0');
}

/** The blob ids of an ok answer, one per file; null when it is not that. */
export function parseBulkAnswer(payload: string, count: number): string[] | null {
  const ids = payload === '' ? [] : payload.split(' ');
  return ids.length === count && ids.every((id) => /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(id)) ? ids : null;
}

/** Which file a failed bulk write names (`#<index> <text>`), and the text; index -1 when none. */
export function bulkFailure(message: string): { index: number; text: string } {
  const m = /^#(\d+) (.*)$/s.exec(message);
  return m ? { index: Number(m[1]), text: m[2]! } : { index: -1, text: message };
}
