import { TransportError } from '../../errors.js';
import { maskSecrets } from '../../log.js';
import { blobKeyType, fingerprintSha256, hostLookupName, type HostKeyVerdict } from './known-hosts.js';

/**
 * The one-line messages for a failed SSH connection: what went wrong, with
 * the fix. Pure, so each case is unit-tested without a server. Secrets never
 * get in: every text that came from ssh2 is masked first, and the original
 * error is replaced by a masked copy before it becomes a `cause`.
 */

export interface Endpoint {
  user: string;
  host: string;
  port: number;
  /** Set for a jump host: the hop's role in messages. */
  role?: string;
}

/** `user@host:port` (plus the hop's role), for messages. */
export function endpointLabel(e: Endpoint): string {
  return `${e.role ? `${e.role} ` : ''}${e.user}@${e.host}:${e.port}`;
}

/** E_CONNECT for a host key that is not trusted, saying which key was offered and how to trust it. */
export function hostKeyError(
  e: Endpoint,
  verdict: Exclude<HostKeyVerdict, { status: 'trusted' }>,
  offered: Buffer,
  source = 'known-hosts',
): TransportError {
  const name = hostLookupName(e.host, e.port);
  const key = `${blobKeyType(offered)} ${fingerprintSha256(offered)}`;
  const scan = `ssh-keyscan${e.port === 22 ? '' : ` -p ${e.port}`} ${e.host}`;
  let message: string;
  switch (verdict.status) {
    case 'unknown':
      message =
        `ssh ${endpointLabel(e)}: host ${name} is not in ${source} (it offered ${key}); ` +
        `if that is the host's key, add the output of \`${scan}\` to known-hosts, or set strict-host-key: false to skip the check`;
      break;
    case 'changed':
      message =
        `ssh ${endpointLabel(e)}: host key of ${name} does not match ${source} (it offered ${key}; listed there: ${verdict.knownTypes.join(', ')}) — ` +
        `the host was reinstalled or the connection is intercepted; if the change is expected, replace the host's lines in known-hosts with the output of \`${scan}\``;
      break;
    case 'revoked':
      message = `ssh ${endpointLabel(e)}: host ${name} offered ${key}, which ${source} marks @revoked; refusing to connect`;
      break;
  }
  return new TransportError('E_CONNECT', message);
}

/** An ssh2 error as ssh2 reports it: a message, and a `level` for connection errors. */
export interface Ssh2ErrorLike {
  message: string;
  level?: string;
  code?: string | number;
}

/** E_CONNECT for a failed connection or login, masked, with the likely fix. */
export function connectError(
  e: Endpoint,
  error: Ssh2ErrorLike,
  secrets: readonly string[],
  timeoutMs: number,
): TransportError {
  const text = maskSecrets(error.message, secrets);
  const where = `ssh ${endpointLabel(e)}`;
  let message: string;
  if (error.level === 'client-authentication') {
    message =
      `${where}: authentication failed (the server accepted none of the offered keys); ` +
      `check identity-file or private-key (and passphrase), the ssh agent, and that the public key is in ~${e.user}/.ssh/authorized_keys on the host`;
  } else if (error.level === 'client-timeout') {
    message = `${where}: no SSH handshake within ${timeoutMs} ms; check host, port and firewall, or raise connect-timeout`;
  } else if (error.code === 'ECONNREFUSED') {
    message = `${where}: connection refused; is sshd listening on port ${e.port}?`;
  } else if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN' || error.level === 'client-dns') {
    message = `${where}: host name ${e.host} does not resolve; check host`;
  } else if (error.code === 'ETIMEDOUT' || error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH') {
    message = `${where}: host unreachable (${error.code}); check host, port and firewall`;
  } else {
    message = `${where}: cannot connect: ${text}`;
  }
  return new TransportError('E_CONNECT', message, { cause: sanitized(error, secrets) });
}

/**
 * E_CONNECT for an SFTP session that did not open, told by what happened: the
 * connection dropped (most often: sshd restarted, or the network), the host
 * refused a session channel, or the subsystem is really missing.
 */
export function sftpOpenError(
  e: Endpoint,
  error: Ssh2ErrorLike,
  secrets: readonly string[],
  dropped: boolean,
): TransportError {
  const text = maskSecrets(error.message, secrets);
  const where = `ssh ${endpointLabel(e)}`;
  let message: string;
  if (dropped || /No response from server|Not connected|ECONNRESET|EPIPE|socket hang up/i.test(text)) {
    message = `${where}: the connection dropped while opening the SFTP session (${text}); nothing was written — check the network and that sshd on the host is up, then run again`;
  } else if (/subsystem/i.test(text)) {
    message = `${where}: the SFTP subsystem is not available (${text}); enable "Subsystem sftp" in sshd_config`;
  } else if (/Channel open failure/i.test(text)) {
    message = `${where}: the host refused to open a session (${text}); nothing was written — sshd's MaxSessions or MaxStartups may be reached, run again later`;
  } else {
    message = `${where}: cannot open the SFTP session (${text}); nothing was written — check sshd on the host ("Subsystem sftp" in sshd_config), then run again`;
  }
  return new TransportError('E_CONNECT', message, { cause: sanitized(error, secrets) });
}

/** A copy of an error with its message masked and no stack or extra fields that could carry key material. */
export function sanitized(error: Ssh2ErrorLike, secrets: readonly string[]): Error {
  const copy = new Error(maskSecrets(error.message, secrets));
  if (error.level !== undefined) Object.assign(copy, { level: error.level });
  if (error.code !== undefined) Object.assign(copy, { code: error.code });
  return copy;
}
