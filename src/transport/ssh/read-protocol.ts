/**
 * read (16): a whole file through the file helper, so that reading one bigger
 * than a peek's 1 MiB (the manifest of a target of ~8,000 files or more) needs no
 * SFTP session: that session costs the host a second start of the login user's
 * shell (slow where an rc file is; a deploy otherwise starts one, as rsync does).
 *
 * Record: A the path, mode the most bytes to send (the caller's limit, at most
 * 2^32 − 1). Only a regular file, opened without following a link
 * (every parent a real folder, as the helper's writes check; a link: ELOOP, a
 * folder or a FIFO: EISDIR / EINVAL, never read). The bytes come raw, in frames
 * of at most 768 KiB (`<id> bytes <n>`, a newline, then n bytes: AnswerParser),
 * then the answer `ok <n>`, n the bytes sent. A file over the limit is EFBIG: as
 * opened, with its size as the text and nothing sent; grown while read, after at
 * most limit + 1 bytes. Before the frames, `<id> size <n>`: the file's size as
 * opened, so that the reader can take the frames into one buffer of that size
 * (AnswerParser's `sized`); only a hint, the frames and the count decide. Raw, not hex or base64: nothing to
 * encode on the host or decode here (base64 made a 2.7 MB manifest cost 50 ms of
 * this process's CPU; SFTP, 15). Pure: the perl, and the check of the count.
 */
export const OP_READ = 16;

/** Raw bytes per frame (under AnswerParser's MAX_FRAME). */
export const PART_BYTES = 768 * 1024;

export const PERL_READ_DISPATCH = String.raw`
  } elsif ($op == 16) {
    my $fh = open_regular($p);
    if (!$fh) { $answer = failure() }
    elsif (-s $fh > $mode) { $answer = "err EFBIG " . (-s _); close $fh }
    else { $out .= "$id size " . ((-s _) || 0) . "\n"; my ($d, $n, $sent, $left) = ("", 0, 0, $mode + 1);
      while ($left > 0 && ($n = sysread($fh, $d, $left < ${PART_BYTES} ? $left : ${PART_BYTES}))) {
        $sent += $n; $left -= $n; $out .= "$id bytes $n\n" . $d; flush(); }
      $answer = !defined $n ? failure() : $sent > $mode ? do { $! = Errno::EFBIG(); failure() } : "ok $sent"; close $fh; }`;

/** The byte count the answer gives; null when it is not one. */
export function readCount(payload: string): number | null {
  return /^(0|[1-9]\d{0,14})$/.test(payload) ? Number(payload) : null;
}
