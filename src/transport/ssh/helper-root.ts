import { TransportError } from '../../errors.js';
import { refuseDangerousRoot } from '../dangerous-root.js';
import type { SshConnection } from './connection.js';
import { endpointLabel } from './errors.js';
import { HelperGone, OpError, type SshOps } from './perl-helper-client.js';

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
 * Check the root folder (creating it when asked) and resolve it, through the file helper.
 * False where the helper cannot run (no perl, no exec, an SFTP-only account): the caller
 * resolves it over SFTP (connect.ts).
 */
export async function resolveRootWithHelper(
  conn: SshConnection,
  ops: SshOps,
  create: boolean,
): Promise<boolean> {
  const root = conn.base;
  const payload = await askRoot(conn, ops, create).catch((error: unknown) => {
    if (error instanceof OpError) {
      const what = create
        ? `cannot create the target folder ${root}`
        : `cannot read the target folder ${root}`;
      throw new TransportError('E_CONNECT', `${conn.description}: ${what}: ${conn.why(error)}`);
    }
    // Dropped while the helper started (a stall is told as itself): nothing was written yet.
    if (error === conn.lost && !conn.wasStalled)
      throw new TransportError(
        'E_CONNECT',
        `ssh ${endpointLabel(conn.target)}: the connection dropped while starting the file helper (${conn.why(error)}); nothing was written — check the network and that sshd on the host is up, then run again`,
        { cause: conn.safeCause(error) },
      );
    throw error;
  });
  if (payload === null) return false;
  const answer = parseRootAnswer(payload);
  if (answer === null)
    throw new TransportError(
      'E_CONNECT',
      `${conn.description}: the host's answer about the target folder ${root} is not one: ${JSON.stringify(payload.slice(0, 100))}`,
    );
  if (answer.kind === 'missing')
    throw new TransportError(
      'E_CONNECT',
      `${conn.description}: target folder ${root} does not exist on the host; create it first`,
      { rootMissing: true },
    );
  if (answer.kind === 'notDir')
    throw new TransportError('E_CONNECT', `${conn.description}: target path ${root} is not a folder`);
  conn.base = answer.real;
  refuseDangerousRoot(answer.real, answer.home === null ? [] : [answer.home], conn.description);
  return true;
}

/** The helper's answer about the root; null where the helper does not run. */
async function askRoot(conn: SshConnection, ops: SshOps, create: boolean): Promise<string | null> {
  const helper = await ops.opened();
  if (!helper) return null;
  return ops.run(helper, OP_ROOT, conn.base, { mode: create ? 1 : 0 }).catch((error: unknown) => {
    if (error instanceof HelperGone) return null;
    throw error;
  });
}
