/**
 * The file helper's ops on many paths at once (perl-helper-protocol.ts), for an
 * authoritative deploy that deletes many strays: each was a backup link, an lstat
 * and an unlink per path, a record, a promise and an answer each (200,000 strays
 * deleted over SSH: 16.6 s, half of this process's CPU in garbage collection,
 * against 2.6 s for `rsync --delete`). Pure: the perl and the answers' parsing;
 * many-ops.ts sends them.
 *
 * - keep many (31): A the paths, NUL-separated; B the backup folder, then a NUL, then
 *   the names to keep each path under in it, NUL-separated, one per path. For each
 *   path, as backup.ts's backupEntry does path by path: its parents checked real folders
 *   (each folder once per record, bulk_parents), an lstat, and a file (or anything but a
 *   folder or a link) hard-linked into the folder under its name, never through a link.
 *   Answer: `ok` then one token per path: `-` nothing there, `d` a folder, `l<hex>` a link
 *   and its text, `f<st_mode>` a file linked, `c<st_mode> <ERRNO>` a file the host would not
 *   link (the caller copies it, or refuses the errno), `!<ERRNO>` the path could not be looked at.
 * - remove many (32): A the paths, NUL-separated; mode the most entries of a folder the helper
 *   removes itself (SMALL_TREE; a bigger one goes to `rm -rf`). Each as rmtree (8) removes one:
 *   its parents checked real folders, nothing there is fine, a folder with all it holds,
 *   anything else unlinked (never followed). Answer: `ok`, then `<index>:<ERRNO>` for each path that
 *   could not be removed.
 */
export const OP_KEEP_MANY = 31;
export const OP_REMOVE_MANY = 32;

/** The perl subs; `bulk_parents` (bulk-write-protocol.ts), `errname`, `small_tree_gone`, `tool` are the helper's own. */
export const PERL_MANY = String.raw`
sub keep_many { my ($ps, $q) = @_; my ($dir, @names) = split(/\0/, $q, -1); my (%real, @r); my $i = 0;
  return failure() unless bulk_parents("$dir/x", \%real);
  for my $p (split(/\0/, $ps, -1)) { my $name = $names[$i++];
    return "err EINVAL more paths than names" unless defined $name;
    if (!bulk_parents($p, \%real)) { push @r, "!" . errname(); next }
    my @s = lstat($p);
    if (!@s) { push @r, ($!{ENOENT} || $!{ENOTDIR}) ? "-" : "!" . errname(); next }
    if (-d _) { push @r, "d"; next }
    if (-l _) { my $t = readlink($p); push @r, defined $t ? "l" . unpack("H*", $t) : "!" . errname(); next }
    push @r, link($p, "$dir/$name") ? "f$s[2]" : "c$s[2] " . errname(); }
  return "err EINVAL more names than paths" if $i != @names;
  return join(" ", "ok", @r); }
sub remove_many { my ($ps, $small) = @_; my (%real, @f); my $i = -1;
  for my $p (split(/\0/, $ps, -1)) { $i++;
    if (!bulk_parents($p, \%real)) { push @f, "$i:" . errname(); next }
    if (!lstat("./$p")) { push @f, "$i:" . errname() unless $!{ENOENT} || $!{ENOTDIR}; next }
    if (-d _) { next if small_tree_gone("./$p", \(my $n = $small)); push @f, "$i:EIO" if tool("rm", "-rf", "--", "./$p") != 0; next }
    push @f, "$i:" . errname() unless unlink("./$p") || $!{ENOENT}; }
  return join(" ", "ok", @f); }`;

/** The main loop's branches (`$p` is A, `$q` is B). */
export const PERL_MANY_DISPATCH = String.raw`
  } elsif ($op == 31) {
    $answer = keep_many($p, $q);
  } elsif ($op == 32) {
    $answer = remove_many($p, $mode);`;

/** The longest link text accepted from the host (hostile input): PATH_MAX. */
const LINK_MAX = 4096;
const ERRNO = '[A-Z][A-Z0-9]{0,31}|\\?';
const TOKEN = new RegExp(`^(?:(-)|(d)|l((?:[0-9a-f]{2})+)|f(\\d{1,10})|c(\\d{1,10})|!(${ERRNO}))$`);
const COPY_ERRNO = new RegExp(`^(?:${ERRNO})$`);
const FAILED = new RegExp(`^(\\d{1,9}):(${ERRNO})$`);

/** What the host said of a path it was asked to keep: as Kept (transport.ts), with the errno of a failure. */
export type KeepToken =
  | { kind: 'none' }
  | { kind: 'dir' }
  | { kind: 'symlink'; linkTarget: string }
  | { kind: 'file'; mode: number; linked: true }
  | { kind: 'file'; mode: number; linked: false; errno: string }
  | { kind: 'failed'; errno: string };

/** The keep-many answer's payload, one entry per path; null when it is not one. */
export function parseKeepMany(payload: string, count: number): KeepToken[] | null {
  const words = payload === '' ? [] : payload.split(' ');
  const out: KeepToken[] = [];
  for (let w = 0; w < words.length; w++) {
    const m = TOKEN.exec(words[w]!);
    if (!m) return null;
    if (m[1]) out.push({ kind: 'none' });
    else if (m[2]) out.push({ kind: 'dir' });
    else if (m[3] !== undefined) {
      if (m[3].length > LINK_MAX * 2) return null;
      const text = Buffer.from(m[3], 'hex').toString('utf8');
      if (text.includes('\0')) return null;
      out.push({ kind: 'symlink', linkTarget: text });
    } else if (m[4] !== undefined) out.push({ kind: 'file', mode: Number(m[4]), linked: true });
    else if (m[5] !== undefined) {
      const errno = words[++w];
      if (errno === undefined || !COPY_ERRNO.test(errno)) return null;
      out.push({ kind: 'file', mode: Number(m[5]), linked: false, errno });
    } else out.push({ kind: 'failed', errno: m[6]! });
  }
  return out.length === count ? out : null;
}

/** The remove-many answer's payload: each path that failed and why, by its index; null when it is not one. */
export function parseRemoveMany(payload: string, count: number): Map<number, string> | null {
  const failed = new Map<number, string>();
  if (payload === '') return failed;
  for (const word of payload.split(' ')) {
    const m = FAILED.exec(word);
    if (!m || Number(m[1]) >= count) return null;
    failed.set(Number(m[1]), m[2]!);
  }
  return failed;
}
