/**
 * Is the selection (source folder + include/exclude/.diffshipignore) a real
 * part of the release? A typo in `source` or `include` must not ship nothing,
 * exit 0 and record the release as deployed: it is caught here, before any
 * target is touched (and `diff` warns about it).
 */
import { SUBMODULE_MODE, type Change } from './types.js';
import { diffWith } from './diff-releases.js';
import { catFileBatch } from './git.js';
import type { GitObjects } from './git-objects.js';
import { normalizeSource } from './ref.js';
import { suggest } from '../config/suggest.js';

interface Selection {
  source?: string;
  include?: readonly string[];
  exclude?: readonly string[];
}

export interface SelectionCheck extends Selection {
  repo: string;
  /** The release: a commit id (or any ref git resolves). */
  to: string;
  /** Without it an empty selection is a problem. */
  allowEmpty?: boolean;
  /** How many files the filtered selection holds, when the caller lists the release anyway (release-summary.ts). */
  fileCount?: () => Promise<number>;
}

/**
 * What is wrong with the selection in release `to`, as one line that names the fix;
 * null when it matches at least one file (or is allowed to be empty).
 */
export async function selectionProblem(
  objects: GitObjects | null,
  o: SelectionCheck,
): Promise<string | null> {
  const { given, prefix } = normalizeSource(o.source);
  const release = /^[0-9a-f]{40,64}$/.test(o.to) ? o.to.slice(0, 12) : o.to;
  if (prefix !== '') {
    const folder = prefix.slice(0, -1);
    const [found] = await lookup(objects, o.repo, [`${o.to}^{commit}:${folder}`]);
    if (!found?.found || found.type !== 'tree') {
      const near = await nearestFolder(objects, o.repo, o.to, folder);
      const hint = near === undefined ? '' : ` — did you mean "${near}"?`;
      return `source: folder "${given}" does not exist in release ${release}${hint} (set source to a folder of the repository)`;
    }
  }
  if (o.allowEmpty) return null;
  const files = o.fileCount
    ? await o.fileCount()
    : shippedFiles(
        (
          await diffWith(objects, {
            repo: o.repo,
            from: null,
            to: o.to,
            source: o.source,
            include: o.include,
            exclude: o.exclude,
          })
        ).changes,
      );
  if (files > 0) return null;
  const parts = [`source "${given}"`];
  if (o.include?.length) parts.push(`include ${JSON.stringify(o.include)}`);
  if (o.exclude?.length) parts.push(`exclude ${JSON.stringify(o.exclude)}`);
  return `the selection (${parts.join(', ')}, and .diffshipignore) matches no file in release ${release} — fix source/include/exclude, or set allow-empty: true to ship an empty selection`;
}

function lookup(objects: GitObjects | null, repo: string, names: string[]) {
  return objects ? Promise.all(names.map((n) => objects.lookup(n))) : catFileBatch(repo, names);
}

/** The folder of the release closest in name to `folder` (same parent; else the top level). */
async function nearestFolder(
  objects: GitObjects | null,
  repo: string,
  to: string,
  folder: string,
): Promise<string | undefined> {
  const parts = folder.split('/');
  const name = parts.pop()!;
  const parent = parts.join('/');
  const [tree] = await lookup(objects, repo, [`${to}^{commit}:${parent}`]);
  if (!tree?.found || tree.type !== 'tree')
    return parent === '' ? undefined : nearestFolder(objects, repo, to, parent);
  // Entries carry binary ids as long as the tree's own (20 bytes: sha1, 32: sha256).
  const folders = treeFolders(tree.content, tree.oid.length / 2);
  const near = suggest(name, folders);
  return near === undefined ? undefined : parent === '' ? near : `${parent}/${near}`;
}

/** Names of the sub-folders in a raw git tree object (`<mode> <name>\0<binary id>` entries). */
function treeFolders(content: Buffer, idLength: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < content.length) {
    const space = content.indexOf(0x20, i);
    const nul = content.indexOf(0, space);
    if (space < 0 || nul < 0) break;
    const mode = content.toString('latin1', i, space);
    if (mode === '40000') out.push(content.toString('utf8', space + 1, nul));
    i = nul + 1 + idLength;
  }
  return out;
}

/** How many of a listing's files ship (not submodules); iterated: a listing is a view (listing-view.ts). */
function shippedFiles(changes: Iterable<Change>): number {
  let n = 0;
  for (const c of changes) if (c.status !== 'deleted' && c.mode !== SUBMODULE_MODE) n++;
  return n;
}
