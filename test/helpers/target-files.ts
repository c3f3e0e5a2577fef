/**
 * What the waits tests (ssh-*-waits.test.ts) deploy and compare: an authoritative deploy and a
 * rollback through a session on a given transport (so that its helper records can be watched),
 * and the files a target holds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TargetSession } from '../../src/apply/session.js';
import type { Transport } from '../../src/transport/transport.js';
import type { SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { watched, type Sent } from './helper-records.js';

/** An authoritative deploy of `to` (the mode that also deletes what the release removed). */
export async function deployAuthoritative(transport: Transport, repo: string, to: string): Promise<void> {
  const s = await TargetSession.open({ transport, stateDir: '.diffship', command: 'deploy' });
  try {
    await s.apply(await s.plan({ repo, to, mode: 'authoritative', onDrift: 'fail' }), repo);
  } finally {
    await s.close();
  }
}

/** deployAuthoritative on `transport`, its helper records watched: what it sent. */
export async function deployWatched(transport: SshTransport, repo: string, to: string): Promise<Sent[]> {
  const sent = watched(transport);
  await deployAuthoritative(transport, repo, to);
  return sent;
}

/** Every file under `root` but the state folder, with its content. */
export function filesUnder(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of fs.readdirSync(root, { recursive: true }).map(String).sort()) {
    if (rel.startsWith('.diffship')) continue;
    const p = path.join(root, rel);
    if (fs.lstatSync(p).isFile()) out[rel] = fs.readFileSync(p, 'utf8');
  }
  return out;
}

/** A rollback through a session on `transport`: the helper records it sent once the session was open. */
export async function rollbackWatched(transport: SshTransport): Promise<Sent[]> {
  const s = await TargetSession.open({ transport, stateDir: '.diffship', command: 'rollback' });
  const sent = watched(transport);
  try {
    await s.rollback();
  } finally {
    await s.close();
  }
  return sent;
}
