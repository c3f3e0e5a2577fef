/**
 * copy (27): a file copied within the target by the file helper, its bytes
 * never leaving the host. A rollback restores each backed-up file this way, and
 * a unit's kept files are copied so where no hard link can be made: over SFTP
 * (or through the helper's read and write) each byte would cross the network
 * twice, and the file would be whole in this process's memory.
 *
 * Record: A the file to copy, B the file to write, mode the permission bits
 * plus SYNC_FLAG for an fsync. A is opened as the read op opens a file (every
 * parent a real folder, no link followed, non-blocking so a FIFO never hangs
 * it; only a regular file: EISDIR / EINVAL otherwise); B as the write op writes
 * one (created or truncated, never through a link, the mode set exactly). As
 * many bytes as A held when opened are copied, 1 MiB at a time: a file cut
 * short meanwhile is ESHORT, as the local copy refuses one. A long copy sends
 * `<id> part <bytes copied>` at most once a second, so the caller's deadline
 * (deadline.ts `watchHelper`) hears a working host. Answer: `ok <bytes>`.
 * Pure: the perl.
 */
export const OP_COPY = 27;

export const PERL_COPY_DISPATCH = String.raw`
  } elsif ($op == 27) {
    my ($in, $fh) = (open_regular($p));
    if (!$in) { $answer = failure() }
    elsif (!parents_real($q) || !sysopen($fh, $q, O_WRONLY | O_CREAT | O_TRUNC | $NOFOLLOW, $mode & 07777)) { $answer = failure(); close $in }
    else { my ($size, $done, $d, $n, $last) = (-s $in, 0, "", 0, time);
      while ($answer eq "ok" && $done < $size) {
        $n = sysread($in, $d, $size - $done < 1048576 ? $size - $done : 1048576);
        if (!defined $n) { $answer = failure(); last }
        if ($n == 0) { $answer = "err ESHORT the file is $done bytes, it was $size when opened: it changed while copied"; last }
        for (my $at = 0; $at < $n;) { my $w = syswrite($fh, $d, $n - $at, $at); if (!defined $w) { $answer = failure(); last } $at += $w }
        $done += $n;
        if (time != $last) { $last = time; $out .= "$id part $done\n"; flush() }
      }
      close $in;
      if ($answer eq "ok") { chmod($mode & 07777, $fh) or $answer = failure(); }
      if ($answer eq "ok" && ($mode & 0200000)) { $fh->sync or $answer = failure(); }
      if (!close($fh) && $answer eq "ok") { $answer = failure(); }
      $answer .= " $done" if $answer eq "ok"; }`;
