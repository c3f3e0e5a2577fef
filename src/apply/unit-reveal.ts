/**
 * `units.reveal: unit` (docs/units.md#reveal): a unit's new version is built
 * complete beside the live one, in the state folder's staging area, then
 * swapped in, so nothing scanning the target ever sees a mix of a unit's old
 * and new files.
 *
 * Build: every live file the deploy keeps is hard-linked (copied where links
 * fail), every staged (already blob-verified) new file is renamed in, then the
 * new files are hashed again where they now are. Swap: `renameat2(…,
 * RENAME_EXCHANGE)` through perl on the target (local and SSH alike), else two
 * renames; their gap is measured and returned. A swap marker in staging lets
 * recovery put the old folder back if a crash falls between the two renames
 * (`finishSwaps`). The backup taken before the journal already holds the old
 * bytes of every touched file, so the usual undo covers the rest.
 */
import { linkLiveInto } from './unit-build.js';
import { forEachLimit } from '../pool.js';
import { metadataConcurrency } from './in-flight.js';
import { posix } from 'node:path';
import { DiffshipError } from '../errors.js';
import type { Manifest, ManifestEntry } from '../plan/manifest-types.js';
import type { TargetPlan } from '../plan/types.js';
import { checkRelPath } from '../transport/rel-path.js';
import { shellQuote } from '../transport/shell-quote.js';
import type { Transport } from '../transport/transport.js';
import { readJson, writeJsonAtomic } from './json-file.js';
import type { Layout } from './layout.js';

/** syscall numbers of renameat2 (RENAME_EXCHANGE = 2, AT_FDCWD = -100); exit 3: no such syscall here. */
const EXCHANGE_PERL = `use POSIX; my %nr = (x86_64 => 316, aarch64 => 276, i686 => 353, i386 => 353, armv7l => 382, s390x => 347, ppc64le => 357); my $n = $nr{(POSIX::uname())[4]}; exit 3 unless $n; my $r = syscall($n, -100, $ARGV[0], -100, $ARGV[1], 2); exit 0 if $r == 0; exit 3 if $!{ENOSYS} || $!{EINVAL} || $!{EPERM}; print STDERR "$!\\n"; exit 1;`;

export interface RevealResult {
  /** Indexes of `plan.writes` now in place (the commit loop skips them). */
  done: Set<number>;
  /** How each unit was swapped: `exchange`, `renames <gap>ms`, `new`, `removed`. */
  swaps: Array<{ unit: string; how: string }>;
}

interface Marker {
  live: string;
  old: string;
}

const markerFile = (staging: string, k: number) => `${staging}/swap-${k}.json`;

/** Swap folder `built` with `live` at once where the host can; else two renames, gap measured. */
export async function swap(
  t: Transport,
  staging: string,
  k: number,
  built: string,
  live: string,
): Promise<string> {
  // DIFFSHIP_UNIT_SWAP=renames: the two-rename swap even where the exchange works (to compare, or
  // for a file system that mishandles it).
  const r =
    process.env.DIFFSHIP_UNIT_SWAP === 'renames'
      ? { code: 3, stderr: '' }
      : await t.exec(`perl -e ${shellQuote(EXCHANGE_PERL)} ${shellQuote(built)} ${shellQuote(live)}`);
  if (r.code === 0) return 'exchange';
  if (r.code !== 3 && r.code !== 127) {
    throw new DiffshipError('E_TRANSPORT', `${t.description}: swapping ${live} failed: ${r.stderr.trim()}`);
  }
  const old = `${staging}/old-${k}`;
  await writeJsonAtomic(t, markerFile(staging, k), { live, old } satisfies Marker);
  const t0 = performance.now();
  await t.rename(live, old);
  await t.rename(built, live);
  const gap = performance.now() - t0;
  await t.rename(old, built);
  await t.unlink(markerFile(staging, k));
  return `renames ${gap.toFixed(2)}ms`;
}

/**
 * The release's files by path. A plan from git carries no listing: a file the release
 * leaves unchanged has its blob in the previous manifest (which records what was
 * shipped, not what the disk now holds).
 */
function listingOf(plan: TargetPlan, previous: Manifest | null): Map<string, ManifestEntry> {
  return new Map((plan.manifest ?? previous?.files ?? []).map((f) => [f.path, f]));
}

/** Build and swap in each unit of `plan.revealUnits`. Runs inside the commit (journal written). */
export async function revealUnits(
  t: Transport,
  staging: string,
  plan: TargetPlan,
  previous: Manifest | null,
  concurrency: number,
): Promise<RevealResult> {
  const result: RevealResult = { done: new Set(), swaps: [] };
  const deleting = new Set(plan.deletes.map((d) => d.path));
  let listing: Map<string, ManifestEntry> | undefined; // built once, for the first unit that needs it
  for (const [k, unit] of (plan.revealUnits ?? []).entries()) {
    const inUnit = (p: string) => p.startsWith(`${unit.path}/`);
    const live = await t.lstat(unit.path);
    if (live !== null && live.type !== 'dir') continue; // a file where the unit goes: the plan's usual path
    if (unit.deleted) {
      if (live === null) continue;
      // The whole folder leaves at once, only when the deploy deletes everything in it (nothing protected).
      const entries = await t.walk(unit.path);
      if (entries.some((e) => e.type !== 'dir' && !deleting.has(e.path))) continue;
      await t.rename(unit.path, `${staging}/gone-${k}`);
      result.swaps.push({ unit: unit.path, how: 'removed' });
      continue;
    }
    const built = `${staging}/unit-${k}`;
    await t.mkdirp(built);
    const writes = Array.from(plan.writes, (w, i) => ({ w, i })).filter(({ w }) => inUnit(w.path));
    const writing = new Set(writes.map(({ w }) => w.path));
    const into = (p: string) => `${built}/${p.slice(unit.path.length + 1)}`;
    // What stays of the live unit, then the staged files renamed in: a pass at a time (unit-build.ts).
    const stays =
      live === null
        ? []
        : (await t.walk(unit.path)).filter((e) => !writing.has(e.path) && !deleting.has(e.path));
    const kept = stays.filter((e) => e.type === 'file').map((e) => e.path);
    const folders = writes.map(({ w }) => posix.dirname(into(w.path)));
    await linkLiveInto(t, stays, into, folders, concurrency);
    await forEachLimit(writes, metadataConcurrency(t, concurrency), async ({ w, i }) => {
      await t.rename(`${staging}/${i}`, into(w.path));
      result.done.add(i);
    });
    // Every file of the built unit the release lists is checked where it now is, against its
    // blob id, before the swap: the new files, and the live ones hard-linked in (a file changed
    // by hand would otherwise appear as part of the new version).
    const listed = (listing ??= listingOf(plan, previous));
    const check = [
      ...writes.map(({ w }) => ({ path: w.path, blob: w.blob, linked: false })),
      ...kept
        .filter((p) => listed.get(p)?.mode !== '120000' && listed.has(p))
        .map((p) => ({ path: p, blob: listed.get(p)!.blob, linked: true })),
    ];
    const paths = check.map((c) => `${built}/${c.path.slice(unit.path.length + 1)}`);
    const hashes = await t.hashFiles(paths, { algorithm: plan.to.length === 64 ? 'sha256' : 'sha1' });
    check.forEach((c, j) => {
      if (hashes.get(paths[j]!) === c.blob) return;
      throw new DiffshipError(
        'E_VERIFY',
        c.linked
          ? `${t.description}: ${c.path} (unchanged by the release, kept from the live unit) does not match blob ${c.blob}: it was changed on the target — the unit would not appear whole; deploy with --drift-scope all (on-drift: overwrite) to put it back, or restore it by hand`
          : `${t.description}: built ${c.path} does not match blob ${c.blob}`,
      );
    });
    if (live === null) {
      const parent = posix.dirname(unit.path);
      if (parent !== '.') await t.mkdirp(parent);
      await t.rename(built, unit.path);
      result.swaps.push({ unit: unit.path, how: 'new' });
    } else {
      result.swaps.push({ unit: unit.path, how: await swap(t, staging, k, built, unit.path) });
    }
  }
  return result;
}

/** A marker's live path: a safe relative path outside the state folder (else the marker is ignored). */
function safeUnitPath(live: string, stateDir: string): boolean {
  try {
    checkRelPath(live);
  } catch {
    return false;
  }
  return live !== stateDir && !live.startsWith(`${stateDir}/`);
}

/** Recovery: a crash between the two renames of a swap left the live unit missing; put the old one back. */
export async function finishSwaps(t: Transport, l: Layout): Promise<void> {
  for (const id of (await t.readdir(l.staging)) ?? []) {
    const dir = `${l.staging}/${id}`;
    for (const name of (await t.readdir(dir)) ?? []) {
      if (!/^swap-\d+\.json$/.test(name)) continue;
      const m = await readJson<Marker>(t, `${dir}/${name}`);
      // Both paths come from the target: only ones of this staging folder and a relative unit path count.
      if (!m || typeof m.live !== 'string' || typeof m.old !== 'string' || !m.old.startsWith(`${dir}/`))
        continue;
      if (!safeUnitPath(m.live, l.dir)) continue;
      if ((await t.lstat(m.live)) === null && (await t.lstat(m.old)) !== null) await t.rename(m.old, m.live);
    }
  }
}
