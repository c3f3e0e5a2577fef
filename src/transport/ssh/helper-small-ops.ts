import type { SshConnection } from './connection.js';
import { HelperGone, type SshOps } from './perl-helper-client.js';
import type { Op } from './perl-helper-protocol.js';

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

/**
 * Run one of these ops; undefined where the helper does not run (or ended before answering):
 * the caller then does it over SFTP. The host's refusal is thrown, naming `name` and the path.
 */
export async function runSmallOp(
  conn: SshConnection,
  ops: SshOps,
  name: string,
  op: Op,
  rel: string,
  options: { to?: string; mode?: number } = {},
): Promise<string | undefined> {
  const helper = await ops.channel().catch(() => null);
  if (!helper) return undefined;
  const answer = await ops.run(helper, op, rel, options).catch((error: unknown) => {
    if (error instanceof HelperGone) return undefined;
    throw conn.fail(name, rel, error);
  });
  if (op !== OP_READLINK || answer === undefined) return answer;
  const text = parseReadlink(answer);
  if (text === null)
    throw conn.fail(
      name,
      rel,
      new Error(`the host's answer is not a link text (${answer.length} hex digits)`),
    );
  return text;
}

/** The readlink answer's link text; null when it is not one (too long, not hex, a NUL). */
function parseReadlink(payload: string): string | null {
  if (!/^(?:[0-9a-f]{2})+$/.test(payload) || payload.length > LINK_MAX * 2) return null;
  const text = Buffer.from(payload, 'hex').toString('utf8');
  return text.includes('\0') ? null : text;
}
