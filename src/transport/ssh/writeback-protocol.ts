/**
 * Early writeback of a big file the file helper writes (op 1): every 8 MiB
 * written, the helper asks Linux to start writing those pages to disk
 * (sync_file_range(2) with SYNC_FILE_RANGE_WRITE: it starts the I/O and does
 * not wait for it). The deploy still makes everything durable with one syncfs
 * before its journal; that sync then finds most of a 200 MiB file on disk
 * already instead of flushing all of it after the transfer (scp does no sync
 * at all). Perl core has no binding for it: the raw system call, by its number,
 * only on the two ABIs whose number is known (x86_64, aarch64); elsewhere
 * nothing is done, and the final sync does it all as before.
 */

/** Bytes written between two writeback requests. */
export const WRITEBACK_EVERY = 8 * 1024 * 1024;

/** `writeback($fh, $from, $to)`: start the writeback of bytes [from, to) of the file; returns `to`. */
export const PERL_WRITEBACK = String.raw`
my $SFR;
sub writeback { my ($fh, $from, $to) = @_;
  if (!defined $SFR) { $SFR = 0; if ($^O eq "linux") { require Config; my $a = $Config::Config{archname} || "";
    $SFR = $a =~ /^x86_64-linux(?!-gnux32)/ ? 277 : $a =~ /^aarch64-linux/ ? 84 : 0; } }
  syscall($SFR, fileno($fh), $from, $to - $from, 2) if $SFR;
  return $to; }`;
