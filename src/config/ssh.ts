/**
 * The ssh options of a target: user, port, key or agent, known hosts. Key
 * texts and passphrases join the secrets, so no log line ever shows them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS } from './defaults.js';
import { durationField, expandHome, type ResolveContext } from './fields.js';
import type { KeyPath } from './problems.js';
import type { TargetInput } from './schema.js';
import type { SshOptions } from './types.js';

/** Keys only an ssh target has. */
export const SSH_ONLY_KEYS = [
  'user',
  'identity-file',
  'private-key',
  'passphrase',
  'agent',
  'known-hosts',
  'strict-host-key',
  'proxy-jump',
  'connect-timeout',
  'reply-timeout',
] as const;

/** The running user's name without throwing (os.userInfo throws for uids without a passwd entry). */
function currentUser(env: NodeJS.ProcessEnv): string {
  if (env.USER) return env.USER;
  if (env.LOGNAME) return env.LOGNAME;
  try {
    return os.userInfo().username;
  } catch {
    return 'root';
  }
}

/**
 * known_hosts lines rather than a path: several lines, a marker line, or the
 * shape `host[,host] keytype key` (so a path with spaces stays a path).
 */
function isKnownHostsText(value: string): boolean {
  const trimmed = value.trim();
  if (trimmed.includes('\n')) return true;
  if (trimmed.startsWith('@cert-authority') || trimmed.startsWith('@revoked')) return true;
  const fields = trimmed.split(/\s+/);
  return fields.length >= 3 && /^(ssh-|ecdsa-|sk-)/.test(fields[1]!);
}

/**
 * known-hosts: the lines themselves, or a file path whose content is read.
 * Absent stays absent: the action's `ssh-known-hosts` input or the ssh
 * transport's own default fills it later.
 */
function knownHosts(ctx: ResolveContext, value: string | undefined, at: KeyPath): string | undefined {
  if (value === undefined) return undefined;
  if (isKnownHostsText(value)) return value.endsWith('\n') ? value : `${value}\n`;
  const file = path.resolve(ctx.baseDir, expandHome(ctx, value.trim()));
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    ctx.problems.add(
      at,
      code === 'ENOENT'
        ? `file not found: ${file} (give a known_hosts file or its lines)`
        : `cannot read ${file}: ${code ?? String(error)}`,
    );
    return undefined;
  }
}

/** SshOptions of an ssh target (`at` is `targets[i]`). */
export function resolveSsh(
  ctx: ResolveContext,
  t: TargetInput,
  at: KeyPath,
  host: string,
  port: number,
): SshOptions {
  const options: SshOptions = {
    host,
    port,
    user: t.user ?? currentUser(ctx.env),
    strictHostKey: t['strict-host-key'] ?? DEFAULTS.ssh.strictHostKey,
    connectTimeoutMs: durationField(
      ctx,
      t['connect-timeout'],
      [...at, 'connect-timeout'],
      DEFAULTS.ssh.connectTimeout,
      true,
    ),
    replyTimeoutMs: durationField(
      ctx,
      t['reply-timeout'],
      [...at, 'reply-timeout'],
      DEFAULTS.ssh.replyTimeout,
      true,
    ),
  };
  const identityFile = t['identity-file'];
  const privateKey = t['private-key'];
  if (identityFile !== undefined && privateKey !== undefined) {
    ctx.problems.add([...at, 'private-key'], 'set identity-file or private-key, not both');
  }
  if (identityFile !== undefined) {
    const file = path.resolve(ctx.baseDir, expandHome(ctx, identityFile));
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (!stat) ctx.problems.add([...at, 'identity-file'], `file not found: ${file}`);
    else if (!stat.isFile()) ctx.problems.add([...at, 'identity-file'], `not a file: ${file}`);
    options.identityFile = file;
  }
  if (privateKey !== undefined) {
    ctx.secrets.push(privateKey);
    // A path here is a common slip; say so without echoing the value (it may be a key).
    if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----|^PuTTY-User-Key-File/m.test(privateKey)) {
      ctx.problems.add(
        [...at, 'private-key'],
        'expected the key text ("-----BEGIN ... PRIVATE KEY-----"); for a key file use identity-file',
      );
    }
    options.privateKey = privateKey;
  }
  if (t.passphrase !== undefined) {
    if (t.passphrase) ctx.secrets.push(t.passphrase);
    options.passphrase = t.passphrase;
  }
  const hasKey = identityFile !== undefined || privateKey !== undefined;
  if (t.agent === true) {
    if (ctx.env.SSH_AUTH_SOCK) options.agent = ctx.env.SSH_AUTH_SOCK;
    else ctx.problems.add([...at, 'agent'], 'true, but SSH_AUTH_SOCK is not set (give the socket path)');
  } else if (typeof t.agent === 'string') {
    options.agent = expandHome(ctx, t.agent);
  } else if (t.agent === undefined && !hasKey && ctx.env.SSH_AUTH_SOCK) {
    options.agent = ctx.env.SSH_AUTH_SOCK;
  }
  const hosts = knownHosts(ctx, t['known-hosts'], [...at, 'known-hosts']);
  if (hosts !== undefined) options.knownHosts = hosts;
  if (t['proxy-jump'] !== undefined) options.proxyJump = t['proxy-jump'];
  if (t['allow-ssh-rsa-sha1'] === true) options.allowSshRsaSha1 = true;
  return options;
}
