import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * known_hosts, as OpenSSH reads it (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"),
 * pure: parse the text once, then answer "is this key trusted for this host".
 *
 * Supported: comma lists of host patterns with `*`/`?` wildcards and `!`
 * negation, `[host]:port` entries for non-22 ports, hashed entries
 * (`|1|salt|hmac-sha1`), any key type, `@revoked` (a listed key is refused).
 * `@cert-authority` lines are kept but never trust a key: diffship does not
 * verify host certificates.
 */

export interface KnownHostLine {
  /** 1-based line number in the text. */
  line: number;
  marker: 'revoked' | 'cert-authority' | null;
  /** The host field as written: a comma list of patterns, or one hashed entry. */
  hosts: string;
  keyType: string;
  /** The key blob (SSH wire format), base64-decoded. */
  key: Buffer;
}

export type HostKeyVerdict =
  | { status: 'trusted' }
  | { status: 'unknown' }
  /** The host is listed, but with other keys: `knownTypes` says which. */
  | { status: 'changed'; knownTypes: string[] }
  | { status: 'revoked' };

/** Parse known_hosts text; comments, blank and malformed lines are skipped. */
export function parseKnownHosts(text: string): KnownHostLine[] {
  const out: KnownHostLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const fields = (lines[i] ?? '').trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) continue;
    let marker: KnownHostLine['marker'] = null;
    if (fields[0].startsWith('@')) {
      const name = fields.shift();
      if (name === '@revoked') marker = 'revoked';
      else if (name === '@cert-authority') marker = 'cert-authority';
      else continue;
    }
    const [hosts, keyType, base64] = fields;
    if (!hosts || !keyType || !base64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) continue;
    const key = Buffer.from(base64, 'base64');
    // The blob starts with its own type name; a line whose two disagree is corrupt.
    if (blobKeyType(key) !== keyType) continue;
    out.push({ line: i + 1, marker, hosts, keyType, key });
  }
  return out;
}

/** The name OpenSSH looks up: `host` on port 22, else `[host]:port`. */
export function hostLookupName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Whether a known_hosts host field matches `host`/`port`. */
export function hostFieldMatches(field: string, host: string, port: number): boolean {
  const name = hostLookupName(host.toLowerCase(), port);
  if (field.startsWith('|1|')) return hashedMatches(field, name);
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern === '') continue;
    const negated = pattern.startsWith('!');
    const glob = (negated ? pattern.slice(1) : pattern).toLowerCase();
    if (!globMatches(glob, name)) continue;
    // A matching negation vetoes the whole line, whatever else matched.
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** Decide whether the host key `blob` offered by `host`:`port` is trusted. */
export function verifyHostKey(
  lines: readonly KnownHostLine[],
  host: string,
  port: number,
  blob: Buffer,
): HostKeyVerdict {
  const forHost = lines.filter((l) => hostFieldMatches(l.hosts, host, port));
  if (forHost.some((l) => l.marker === 'revoked' && l.key.equals(blob))) return { status: 'revoked' };
  const plain = forHost.filter((l) => l.marker === null);
  if (plain.some((l) => l.key.equals(blob))) return { status: 'trusted' };
  if (plain.length === 0) return { status: 'unknown' };
  return { status: 'changed', knownTypes: [...new Set(plain.map((l) => l.keyType))] };
}

/** Key types listed for the host, so the client can ask the server for one of those first. */
export function knownKeyTypes(lines: readonly KnownHostLine[], host: string, port: number): string[] {
  const types = lines
    .filter((l) => l.marker === null && hostFieldMatches(l.hosts, host, port))
    .map((l) => l.keyType);
  return [...new Set(types)];
}

/** The key type name at the start of an SSH key blob, or '' when malformed. */
export function blobKeyType(blob: Buffer): string {
  if (blob.length < 4) return '';
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > blob.length) return '';
  return blob.subarray(4, 4 + length).toString('latin1');
}

/** The fingerprint as OpenSSH prints it: `SHA256:` + unpadded base64 of sha256(blob). */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function hashedMatches(field: string, name: string): boolean {
  const [, , salt, hash] = field.split('|');
  if (!salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** OpenSSH's match_pattern: `*` any run, `?` one character, everything else literal. */
function globMatches(glob: string, name: string): boolean {
  if (!glob.includes('*') && !glob.includes('?')) return glob === name;
  const source = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${source}$`, 's').test(name);
}
