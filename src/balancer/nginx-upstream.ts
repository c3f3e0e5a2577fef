/**
 * The NGINX upstream include file, pure: its `server` lines, and the same text
 * with one server's `down` flag set or cleared. Everything else in the file
 * (comments, other directives, spacing) is kept byte for byte.
 *
 *   server 127.0.0.1:7401 max_fails=3;
 *   server 127.0.0.1:7402 down;   # drained by diffship
 */

export interface UpstreamServer {
  address: string;
  down: boolean;
  backup: boolean;
}

/** `server <address> [params];` on one line, with an optional trailing comment. */
const SERVER_LINE = /^(\s*server\s+)(\S+?)((?:\s+[^;#\s]+)*)(\s*;.*)$/;

/** The file's servers in order. */
export function parseUpstream(text: string): UpstreamServer[] {
  const out: UpstreamServer[] = [];
  for (const line of text.split('\n')) {
    const m = SERVER_LINE.exec(line);
    if (!m) continue;
    const params = m[3]!.trim().split(/\s+/).filter(Boolean);
    out.push({ address: m[2]!, down: params.includes('down'), backup: params.includes('backup') });
  }
  return out;
}

/**
 * `text` with `address` marked down (or not). Null when the file has no
 * server line for `address`.
 */
export function setServerDown(text: string, address: string, down: boolean): string | null {
  let found = false;
  const lines = text.split('\n').map((line) => {
    const m = SERVER_LINE.exec(line);
    if (!m || m[2] !== address) return line;
    found = true;
    const params = m[3]!
      .trim()
      .split(/\s+/)
      .filter((p) => p && p !== 'down');
    if (down) params.push('down');
    return `${m[1]}${m[2]}${params.map((p) => ` ${p}`).join('')}${m[4]}`;
  });
  return found ? lines.join('\n') : null;
}
