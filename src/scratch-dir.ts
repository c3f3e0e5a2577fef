/**
 * Local scratch folders (a rollout's hook change files, a built release's index)
 * named after the process that made them, so that a later run removes those a
 * killed run left behind (SIGKILL, the OOM killer: no `finally` ran). Linux only:
 * the name holds the pid namespace, the pid and the process's start time, all read
 * from /proc. A folder is removed only when its owner is surely gone: same pid
 * namespace (a /tmp shared with a container names pids of another), and no process
 * with that pid, or one started at another time (the pid was reused). It must be a
 * real folder of this user, not a link. Elsewhere the folders are plain and never swept.
 */
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statFields } from './proc-stat.js';

/** `<pid namespace inode>.<pid>.<start time in clock ticks>`, then mkdtemp's six characters. */
const OWNED = /^(\d+)\.(\d+)\.(\d+)-[A-Za-z0-9]{6}$/;

/** This process's part of the name, or null where /proc cannot say (not Linux). */
let self: { ns: string; tag: string } | null | undefined;
/** Temp folder and prefix pairs already swept by this process. */
const swept = new Set<string>();

/**
 * A new folder `<tmpdir>/<prefix><owner>-XXXXXX`, after removing the folders with
 * this prefix that dead processes left there (once per process, temp folder and prefix).
 */
export function makeScratchDir(prefix: string): string {
  const base = tmpdir();
  const me = owner();
  const key = `${base}\0${prefix}`;
  if (me !== null && !swept.has(key)) {
    swept.add(key);
    sweep(base, prefix, me.ns);
  }
  return mkdtempSync(join(base, `${prefix}${me === null ? '' : `${me.tag}-`}`));
}

function owner(): { ns: string; tag: string } | null {
  if (self !== undefined) return self;
  try {
    const ns = /^pid:\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/pid'))?.[1];
    const start = startTime(process.pid);
    self = ns !== undefined && start !== null ? { ns, tag: `${ns}.${process.pid}.${start}` } : null;
  } catch {
    self = null;
  }
  return self;
}

/** Field 22 of /proc/<pid>/stat (clock ticks after boot), or null when there is no such process. */
function startTime(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const start = statFields(stat)[19];
  return start !== undefined && /^\d+$/.test(start) ? start : null;
}

function sweep(base: string, prefix: string, ns: string): void {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = OWNED.exec(name.slice(prefix.length));
    if (m === null || m[1] !== ns) continue;
    const start = startTime(Number(m[2]));
    if (start !== null && start === m[3]) continue; // its owner runs
    try {
      const st = lstatSync(join(base, name));
      if (!st.isDirectory() || st.uid !== uid) continue;
      rmSync(join(base, name), { recursive: true, force: true });
    } catch {
      // Gone already, or not ours to remove: the next run tries again.
    }
  }
}
