/**
 * The demo's throwaway repository: three releases of an integration engine's
 * workflow folder. v1 and v2 are healthy; v3 has a typo in a step type, which
 * the example host loads but reports as invalid (/health 503).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runGit } from '../diff/git.js';

/** A workflow file as the example host reads it: a name and typed steps. */
function workflow(name: string, steps: Array<Record<string, string>>): string {
  return `${JSON.stringify({ name, steps }, null, 2)}\n`;
}

const ORDERS_V1 = workflow('Orders in', [
  { type: 'receive', from: 'mllp://0.0.0.0:6661' },
  { type: 'filter', when: 'MSH-9 = ORM^O01' },
  { type: 'transform', map: 'orders.map' },
  { type: 'send', to: 'http://erp.internal/orders' },
]);
const ORDERS_V2 = workflow('Orders in', [
  { type: 'receive', from: 'mllp://0.0.0.0:6661' },
  { type: 'filter', when: 'MSH-9 = ORM^O01' },
  { type: 'transform', map: 'orders.map' },
  { type: 'log', level: 'info' },
  { type: 'send', to: 'http://erp.internal/orders' },
]);
const LAB_V1 = workflow('Lab results', [
  { type: 'receive', from: 'folder://inbox/lab' },
  { type: 'route', by: 'OBR-4' },
  { type: 'send', to: 'mllp://ehr.internal:6662' },
]);
const LAB_V3 = workflow('Lab results', [
  { type: 'receive', from: 'folder://inbox/lab' },
  { type: 'route', by: 'OBR-4' },
  { type: 'log', level: 'debug' },
  { type: 'send', to: 'mllp://ehr.internal:6662' },
]);
const BILLING_V2 = workflow('Billing out', [
  { type: 'receive', from: 'mllp://0.0.0.0:6663' },
  { type: 'transform', map: 'billing.map' },
  { type: 'send', to: 'sftp://billing.internal/in' },
]);
// The mistake v3 ships: "transfrom" is not a step type the engine knows.
const BILLING_V3 = workflow('Billing out', [
  { type: 'receive', from: 'mllp://0.0.0.0:6663' },
  { type: 'transfrom', map: 'billing-2.map' },
  { type: 'send', to: 'sftp://billing.internal/in' },
]);

export interface DemoRelease {
  tag: 'v1' | 'v2' | 'v3';
  /** What changed, in plain words, for the narration. */
  summary: string;
  /** The whole `workflows/` folder of the release. */
  files: Record<string, string>;
}

export const RELEASES: readonly DemoRelease[] = [
  {
    tag: 'v1',
    summary: 'orders-in.json and lab-results.json',
    files: { 'orders-in.json': ORDERS_V1, 'lab-results.json': LAB_V1 },
  },
  {
    tag: 'v2',
    summary: 'orders-in.json gains a log step; billing-out.json is new',
    files: { 'orders-in.json': ORDERS_V2, 'lab-results.json': LAB_V1, 'billing-out.json': BILLING_V2 },
  },
  {
    tag: 'v3',
    summary: 'lab-results.json gains a log step; typo in billing-out.json',
    files: { 'orders-in.json': ORDERS_V2, 'lab-results.json': LAB_V3, 'billing-out.json': BILLING_V3 },
  },
];

/** git with a fixed identity and none of the user's hooks or signing, so it works on any machine. */
const GIT_CONFIG = [
  '-c',
  'user.name=diffship demo',
  '-c',
  'user.email=demo@diffship.invalid',
  '-c',
  'commit.gpgsign=false',
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.autocrlf=false',
];

/**
 * Create a repository in `dir` with one commit and tag per release, each
 * holding exactly that release's `workflows/` folder. Returns tag → SHA.
 */
export async function buildDemoRepo(dir: string): Promise<Record<DemoRelease['tag'], string>> {
  await mkdir(dir, { recursive: true });
  const git = (...args: string[]) => runGit(dir, [...GIT_CONFIG, ...args]);
  await git('-c', 'init.defaultBranch=main', 'init', '-q');
  const shas = {} as Record<DemoRelease['tag'], string>;
  for (const release of RELEASES) {
    const folder = path.join(dir, 'workflows');
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder, { recursive: true });
    for (const [name, text] of Object.entries(release.files)) await writeFile(path.join(folder, name), text);
    await git('add', '-A', 'workflows');
    await git('commit', '-q', '--no-verify', '-m', `release ${release.tag}: ${release.summary}`);
    await git('tag', release.tag);
    shas[release.tag] = (await git('rev-parse', 'HEAD')).stdout.toString('utf8').trim();
  }
  return shas;
}

/** The blob id of every file of a release's `workflows/` folder (what a host reports in /workflows). */
export async function releaseBlobs(repo: string, tag: string): Promise<Record<string, string>> {
  const out = (await runGit(repo, ['ls-tree', '-r', '-z', `${tag}:workflows`])).stdout.toString('utf8');
  const blobs: Record<string, string> = {};
  for (const entry of out.split('\0')) {
    // <mode> SP <type> SP <object> TAB <path>
    const m = /^\d+ blob ([0-9a-f]+)\t(.+)$/s.exec(entry);
    if (m) blobs[m[2]!] = m[1]!;
  }
  return blobs;
}
