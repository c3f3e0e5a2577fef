import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { statFields } from '../../src/proc-stat.js';

/** A process's state letter and process group, from /proc (Linux); null once it is gone. */
function stateOf(pid: number | string): { state: string; pgrp: number } | null {
  try {
    const [state, , pgrp] = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return { state: state!, pgrp: Number(pgrp) };
  } catch {
    return null;
  }
}

/** A zombie is dead: it only waits to be reaped, and signal 0 still finds it. */
const dead = (state: string): boolean => state === 'Z' || state === 'X';

/**
 * Live (not zombie) processes of a process group. Killed members of a group
 * whose leader died first are reparented to init, and a container's init may
 * reap them seconds later (this machine's does): signal 0 still finds those.
 */
export function liveInGroup(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stateOf(name);
    if (s !== null && s.pgrp === pgid && !dead(s.state)) out.push(Number(name));
  }
  return out;
}

/** Whether `pid` runs (a zombie does not). */
export function processAlive(pid: number): boolean {
  const s = stateOf(pid);
  return s !== null && !dead(s.state);
}

/** Run `body` with a `find` of this script first on PATH (a find without -printf, one that hangs or fails). */
export async function withFind(script: string, body: () => Promise<void>): Promise<void> {
  const bin = mkdtempSync(path.join(os.tmpdir(), 'diffship-fake-find-'));
  writeFileSync(path.join(bin, 'find'), script, { mode: 0o755 });
  const saved = process.env.PATH;
  process.env.PATH = `${bin}:${saved}`;
  try {
    await body();
  } finally {
    process.env.PATH = saved;
    rmSync(bin, { recursive: true, force: true });
  }
}

/** Wait (up to 5 s) until a process group has no live member; the members still live. */
export async function groupGone(pgid: number): Promise<number[]> {
  let live = liveInGroup(pgid);
  for (let i = 0; i < 100 && live.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    live = liveInGroup(pgid);
  }
  return live;
}
