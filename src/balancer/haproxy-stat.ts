/**
 * HAProxy runtime API answers, pure: `show stat` CSV → the servers of one
 * backend with their status and current sessions. `show stat` rather than
 * `show servers state` because only it carries `scur` (current sessions).
 */

export interface HaproxyServer {
  name: string;
  /** `UP`, `DOWN`, `DRAIN`, `MAINT`, `no check`, … (first word of the status column). */
  status: string;
  /** Current sessions on the server. */
  sessions: number;
}

/** Parse `show stat` output; only rows of `backend` that are servers (not FRONTEND/BACKEND). */
export function parseShowStat(csv: string, backend: string): HaproxyServer[] {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = lines.find((l) => l.startsWith('#'));
  if (!header) throw new Error(`unexpected answer to "show stat": ${csv.trim().slice(0, 200) || '(empty)'}`);
  const columns = header.replace(/^#\s*/, '').split(',');
  const col = (name: string) => {
    const i = columns.indexOf(name);
    if (i < 0) throw new Error(`"show stat" has no ${name} column`);
    return i;
  };
  const [px, sv, scur, status] = [col('pxname'), col('svname'), col('scur'), col('status')];
  const out: HaproxyServer[] = [];
  for (const line of lines) {
    if (line.startsWith('#')) continue;
    const f = line.split(',');
    if (f[px] !== backend || f[sv] === 'FRONTEND' || f[sv] === 'BACKEND') continue;
    out.push({ name: f[sv]!, status: (f[status] ?? '').trim(), sessions: Number(f[scur] || 0) });
  }
  return out;
}

/** Whether a server with this status takes new requests. */
export function inService(status: string): boolean {
  return !/^(DRAIN|MAINT|DOWN|NOLB)/.test(status);
}
