/**
 * The file helper's patch op (perl-helper-protocol.ts): a file made on the host
 * from another file there and a few edits, so that a deploy's next manifest
 * (the previous one with a few lines changed) does not cross the wire whole.
 *
 * - patch (26): A is the base file, B the staged name then the final name,
 *   NUL-separated; mode the new file's permission bits (plus SYNC_FLAG: fsync
 *   it). The data is the patch: a text line `<base size> <base sha256> <size>
 *   <sha256>\n` (what the base must be, what the result must be), then parts:
 *   `C` and four u32 (high and low words of an offset, then of a length): that
 *   range of the base; `L`, a u32 length and the bytes: those bytes. The helper
 *   opens the base (never through a link, a regular file only), checks its size
 *   and SHA-256 before it uses a byte of it, writes the parts to the staged name
 *   (created anew, never through a link), sets the mode, fsyncs, and renames it
 *   to the final name only when its size is the one named; otherwise it removes
 *   it. Answer: `ok <size> <sha256>`. The result is not hashed again: it is the
 *   base's checked bytes and the patch's, which the caller hashed as it made them
 *   (perl's SHA-256 costs ~15 ms a 2.5 MB manifest, each time). The base's hash
 *   is the one the look op (look-protocol.ts) took of the same file in the same
 *   deploy when its stat has not changed since (`%LOOKED`); else it is hashed here.
 *
 * So a base that is not the file the caller holds (edited, swapped, a link, of
 * another size) is refused (ESTALE, ELOOP, EINVAL) and nothing is renamed.
 */
import type { PatchCheck, PatchPart } from '../transport.js';

export const OP_PATCH = 26;

/**
 * The perl sub of the op; `parents_real`, `failure`, `$NOFOLLOW`, `$HIRES` are the helper's
 * own, `fkey` and `%LOOKED` the look op's (PERL_LOOK comes first in the script).
 */
export const PERL_PATCH = String.raw`
sub patch_fail { my ($fh, $out, $staged, $answer) = @_; close $fh if $fh; close $out if $out; unlink($staged) if $out; return $answer; }
sub patch_file {
  my ($base, $names, $mode, $patch) = @_;
  my ($staged, $dest) = split(/\0/, $names, 2);
  return "err EINVAL a patch record names no final file" unless defined $dest && length $dest;
  return "err EINVAL the patch has no header" unless $patch =~ /\A(\d+) ([0-9a-f]{64}) (\d+) ([0-9a-f]{64})\n/;
  my ($bsize, $bsha, $nsize, $nsha, $at) = ($1, $2, $3, $4, $+[0]);
  my ($fh, $out, $chunk, $n);
  return failure() unless parents_real($base) && sysopen($fh, $base, O_RDONLY | O_NONBLOCK | $NOFOLLOW);
  return patch_fail($fh, undef, $staged, "err EINVAL the base is not a file") unless -f $fh;
  return patch_fail($fh, undef, $staged, "err ESTALE the base is not of the size named") unless -s _ == $bsize;
  my $k = $HIRES ? fkey($fh) : undef;
  if (!(defined $k && ($LOOKED{$base} // "") eq "$k $bsha")) {
    my ($d, $seen) = (Digest::SHA->new(256), 0);
    while ($n = sysread($fh, $chunk, 1 << 20)) { $seen += $n; last if $seen > $bsize; $d->add($chunk); }
    return patch_fail($fh, undef, $staged, failure()) unless defined $n;
    return patch_fail($fh, undef, $staged, "err ESTALE the base is not the file named") unless $seen == $bsize && $d->hexdigest eq $bsha;
  }
  return patch_fail($fh, undef, $staged, failure()) unless parents_real($staged) && parents_real($dest);
  unlink($staged);
  return patch_fail($fh, undef, $staged, failure()) unless sysopen($out, $staged, O_WRONLY | O_CREAT | O_EXCL | $NOFOLLOW, $mode & 07777);
  my $size = 0;
  my $put = sub { my $s = shift; my $w = 0; while ($w < length $s) { my $k = syswrite($out, $s, length($s) - $w, $w); return 0 unless defined $k; $w += $k; } $size += length $s; return 1; };
  while ($at < length $patch) {
    my $t = substr($patch, $at, 1); $at++;
    if ($t eq "C" && $at + 16 <= length $patch) {
      my ($oh, $ol, $lh, $ll) = unpack("N4", substr($patch, $at, 16)); $at += 16;
      my ($off, $len) = ($oh * 4294967296 + $ol, $lh * 4294967296 + $ll);
      return patch_fail($fh, $out, $staged, "err EINVAL a range past the base's end") if $off + $len > $bsize;
      sysseek($fh, $off, 0) or return patch_fail($fh, $out, $staged, failure());
      while ($len > 0) {
        $n = sysread($fh, $chunk, $len < (1 << 20) ? $len : 1 << 20);
        return patch_fail($fh, $out, $staged, defined $n ? "err EIO the base ended early" : failure()) unless $n;
        $put->($chunk) or return patch_fail($fh, $out, $staged, failure()); $len -= $n;
      }
    } elsif ($t eq "L" && $at + 4 <= length $patch) {
      my $len = unpack("N", substr($patch, $at, 4)); $at += 4;
      return patch_fail($fh, $out, $staged, "err EINVAL the patch is cut short") if $at + $len > length $patch;
      $put->(substr($patch, $at, $len)) or return patch_fail($fh, $out, $staged, failure()); $at += $len;
    } else { return patch_fail($fh, $out, $staged, "err EINVAL the patch is garbled"); }
  }
  close $fh; undef $fh;
  chmod($mode & 07777, $out) or return patch_fail(undef, $out, $staged, failure());
  if ($mode & 0200000) { $out->sync or return patch_fail(undef, $out, $staged, failure()); }
  close($out) or do { unlink($staged); return failure(); };
  if ($size != $nsize) { unlink($staged); return "err EIO the file made is not of the size named ($size bytes)"; }
  rename($staged, $dest) or do { my $f = failure(); unlink($staged); return $f; };
  return "ok $size $nsha";
}
`;

/** The op's branch in the helper's dispatch (its data is the patch, read whole: a few KiB). */
export const PERL_PATCH_DISPATCH = String.raw`
  } elsif ($op == 26) {
    $answer = patch_file($p, $q, $mode, take($left));`;

/** The patch's bytes: the header, then each part (perl reads them back above). */
export function encodePatch(check: PatchCheck, parts: Iterable<PatchPart>): Buffer {
  const { base, result } = check;
  const out: Buffer[] = [Buffer.from(`${base.size} ${base.sha256} ${result.size} ${result.sha256}\n`)];
  for (const part of parts) {
    if (Buffer.isBuffer(part)) {
      // One literal per part: a part is a chunk of lines (manifest-stream.ts), well under 4 GiB.
      const head = Buffer.alloc(5);
      head.write('L', 0);
      head.writeUInt32BE(part.length, 1);
      out.push(head, part);
      continue;
    }
    const head = Buffer.alloc(17);
    head.write('C', 0);
    const len = part.to - part.from;
    head.writeUInt32BE(Math.floor(part.from / 2 ** 32), 1);
    head.writeUInt32BE(part.from % 2 ** 32, 5);
    head.writeUInt32BE(Math.floor(len / 2 ** 32), 9);
    head.writeUInt32BE(len % 2 ** 32, 13);
    out.push(head);
  }
  return Buffer.concat(out);
}

/** The answer's size and SHA-256; null when it is not one. */
export function parsePatchAnswer(payload: string): { size: number; sha256: string } | null {
  const m = /^(\d+) ([0-9a-f]{64})$/.exec(payload);
  return m ? { size: Number(m[1]), sha256: m[2]! } : null;
}
