/**
 * The records of ops 21–25 (ssh-shell: one remote shell per deploy): their perl and the parsing
 * of their answers, pure. helper-root.ts and helper-small-ops.ts send them.
 */

/**
 * The target folder resolved by the file helper (op 21), not over SFTP: a deploy whose every
 * operation the helper does never opens the SFTP session, whose start costs the host a second
 * start of the login user's shell (slow where an rc file is; rsync pays one).
 *
 * Record: A the configured root (absolute, or relative to the login folder, as SFTP takes it);
 * mode 1 to create it (mkdir -p, as mkdir(2) makes folders: 0777 less the umask). The helper is
 * still in the login folder (it moves into the target only once it is known: chdir, op 6).
 * Answer: `-` missing, `n` not a folder, else `d <real path hex> <login folder's real path hex>`.
 * stat and mkdir follow links here, as SFTP's do: the real path is then checked (dangerous-root.ts).
 */
export const OP_ROOT = 21;

/** The perl sub of op 21; `failure` is the helper's own. */
export const PERL_ROOT = String.raw`
sub root_of { my ($p, $mode) = @_; require Cwd; my @s = stat($p);
  if (!@s && $!{ENOENT} && ($mode & 1)) { my $d = substr($p, 0, 1) eq "/" ? "" : ".";
    for my $c (grep { length } split m{/}, $p) { $d .= "/$c"; next if -d $d; mkdir($d, 0777) or $!{EEXIST} or return failure(); }
    @s = stat($p) or return failure(); }
  return ($!{ENOENT} || $!{ENOTDIR} || $!{ELOOP}) ? "ok -" : failure() unless @s;
  return "ok n" unless -d _;
  my $r = Cwd::realpath($p); return failure() unless defined $r;
  my $h = Cwd::realpath(".");
  return "ok d " . unpack("H*", $r) . " " . unpack("H*", defined $h ? $h : ""); }`;

export const PERL_ROOT_DISPATCH = String.raw`
  } elsif ($op == 21) {
    $answer = root_of($p, $mode);`;

/** Longest real path accepted from the host (PATH_MAX): the answer is hostile input. */
const PATH_MAX = 4096;
const ANSWER = /^(?:(-)|(n)|d ((?:[0-9a-f]{2})+) ((?:[0-9a-f]{2})*))$/;

/** What the host said about the root; null when the answer is not one. */
export function parseRootAnswer(
  payload: string,
): { kind: 'missing' } | { kind: 'notDir' } | { kind: 'dir'; real: string; home: string | null } | null {
  const m = ANSWER.exec(payload);
  if (!m) return null;
  if (m[1]) return { kind: 'missing' };
  if (m[2]) return { kind: 'notDir' };
  const real = Buffer.from(m[3]!, 'hex').toString('utf8');
  const home = Buffer.from(m[4]!, 'hex').toString('utf8');
  if (real.length > PATH_MAX || home.length > PATH_MAX || !real.startsWith('/') || real.includes('\0'))
    return null;
  return { kind: 'dir', real, home: home.startsWith('/') && !home.includes('\0') ? home : null };
}

/**
 * rmdir, symlink, readlink and chmod through the file helper (ops 22–25), so that a deploy
 * (pruning emptied folders, a release's symlinks and mode changes, a link's backup) never opens
 * the SFTP session, a second start of the login user's shell on the host. Each first checks
 * that every parent of A is a real folder (ELOOP otherwise), as the helper's writes do.
 *
 * - rmdir (22): rmdir(2) A. Payload `1` removed, `0` missing or not empty; other errors told
 *   (a file or a link there: ENOTDIR).
 * - symlink (23): symlink(2) at A pointing to the bytes B (an existing A: EEXIST).
 * - readlink (24): payload the hex of A's link text (at most 4096 bytes, PATH_MAX); runSmallOp
 *   resolves to the text itself.
 * - chmod (25): chmod(2) A to `mode`, unless A is a link: payload `l` then, and nothing changed
 *   (chmod follows links; the caller refuses).
 */
export const OP_RMDIR = 22;
export const OP_SYMLINK = 23;
export const OP_READLINK = 24;
export const OP_CHMOD = 25;

export const PERL_SMALL_OPS_DISPATCH = String.raw`
  } elsif ($op == 22) {
    if (!parents_real($p)) { $answer = failure() } elsif (rmdir($p)) { $answer = "ok 1" }
    elsif ($!{ENOENT} || $!{ENOTEMPTY} || $!{EEXIST}) { $answer = "ok 0" } else { $answer = failure() }
  } elsif ($op == 23) {
    (parents_real($p) && symlink($q, $p)) or $answer = failure();
  } elsif ($op == 24) {
    my $t; if (!parents_real($p) || !defined($t = readlink($p))) { $answer = failure() }
    else { $answer = "ok " . unpack("H*", $t) }
  } elsif ($op == 25) {
    if (!parents_real($p) || !lstat($p)) { $answer = failure() } elsif (-l _) { $answer = "ok l" }
    elsif (!chmod($mode & 07777, $p)) { $answer = failure() }`;

/** The longest link text accepted from the host (hostile input): PATH_MAX. */
const LINK_MAX = 4096;

/** The readlink answer's link text; null when it is not one (too long, not hex, a NUL). */
export function parseReadlink(payload: string): string | null {
  if (!/^(?:[0-9a-f]{2})+$/.test(payload) || payload.length > LINK_MAX * 2) return null;
  const text = Buffer.from(payload, 'hex').toString('utf8');
  return text.includes('\0') ? null : text;
}
