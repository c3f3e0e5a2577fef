/**
 * A guess at the commit a ref names, read from the repository's ref files
 * without starting git, so that `git diff-tree` can start comparing at once
 * instead of waiting for the ref lookup (one process round trip).
 *
 * Only a guess: the diff keeps what `git diff-tree` answered for the guessed
 * commits only when the lookup (`cat-file --batch`, the authority) resolved
 * both refs to exactly those commits; anything else starts diff-tree afresh
 * with the trees the lookup found. A wrong guess costs one wasted process,
 * never a wrong answer. So this reads only the plain cases (a `.git` folder
 * in `repo`, loose and packed refs, symbolic refs) and gives up on anything
 * else (worktrees, GIT_DIR, ref expressions, reftable).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** A plain ref name: no expression (`~`, `^`, `:`, `@{`), no `..`, no leading or trailing `/`. */
const PLAIN_NAME = /^(?!.*\.\.)(?!\/)(?!.*\/$)[A-Za-z0-9._/-]+$/;
/** Where git looks for a name, in its order (gitrevisions(7)). */
const RULES = ['%s', 'refs/%s', 'refs/tags/%s', 'refs/heads/%s', 'refs/remotes/%s', 'refs/remotes/%s/HEAD'];
/**
 * The largest packed-refs file read (~15,000 refs): reading and searching a bigger one could
 * cost more than the round trip the guess saves. Then a packed ref is not guessed.
 */
const MAX_PACKED = 1 << 20;
/** Environment that points git elsewhere than `<repo>/.git`: then no guess. */
const REDIRECTS = ['GIT_DIR', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY', 'GIT_NAMESPACE'];

/** Two commits to compare, `from` to `to`. */
export interface CommitPair {
  from: string;
  to: string;
}

/** Both commits of a diff read from the ref files, or null: then git diff-tree waits for the lookups. */
export function guessPair(repo: string, from: string | null, to: string): CommitPair | null {
  if (from === null) return null; // a listing compares with the empty tree: that needs the tree of `to`
  const guessed = { from: guessCommit(repo, from), to: guessCommit(repo, to) };
  return guessed.from === null || guessed.to === null ? null : { from: guessed.from, to: guessed.to };
}

/** The commit id `ref` most likely names in `repo`, or null when it can't be read without git. */
export function guessCommit(repo: string, ref: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (OID.test(ref.toLowerCase())) return ref.toLowerCase();
  if (!PLAIN_NAME.test(ref) || REDIRECTS.some((name) => env[name] !== undefined)) return null;
  const refs = new RefFiles(join(repo, '.git'));
  for (const rule of RULES) {
    const oid = refs.resolve(rule.replace('%s', ref), 5);
    if (oid !== undefined) return oid;
  }
  return null;
}

/** The loose and packed refs of one git directory, read as needed. */
class RefFiles {
  private packed: string | null | undefined;

  constructor(private readonly gitDir: string) {}

  /** The id `name` holds (following symbolic refs), null when the files say nothing plain, undefined when absent. */
  resolve(name: string, depth: number): string | null | undefined {
    // Outside refs/ only all-caps pseudo-refs (HEAD, FETCH_HEAD) live in the git directory.
    if (!name.startsWith('refs/') && !/^[A-Z_]+$/.test(name)) return undefined;
    const loose = readText(join(this.gitDir, name));
    if (loose !== undefined) {
      const line = loose.split('\n', 1)[0]!.trim();
      if (OID.test(line)) return line;
      const target = /^ref: (refs\/\S+)$/.exec(line)?.[1];
      return target !== undefined && PLAIN_NAME.test(target) && depth > 0
        ? (this.resolve(target, depth - 1) ?? null)
        : null;
    }
    return name.startsWith('refs/') ? this.fromPacked(name) : undefined;
  }

  /** `<id> <name>` in packed-refs; an annotated tag's `^<id>` line after it names its commit. */
  private fromPacked(name: string): string | undefined {
    this.packed ??= readText(join(this.gitDir, 'packed-refs'), MAX_PACKED) ?? null;
    if (this.packed === null) return undefined;
    const at = this.packed.indexOf(` ${name}\n`);
    if (at < 0) return undefined;
    const start = this.packed.lastIndexOf('\n', at) + 1;
    const oid = this.packed.slice(start, at);
    if (!OID.test(oid)) return undefined;
    const next = at + name.length + 2;
    const peeled = this.packed.startsWith('^', next)
      ? this.packed.slice(next + 1, this.packed.indexOf('\n', next))
      : '';
    return OID.test(peeled) ? peeled : oid;
  }
}

/** A file's text, or undefined when it can't be read (absent, a folder) or is over `max` bytes. */
function readText(file: string, max = 4096): string | undefined {
  try {
    if (statSync(file).size > max) return undefined;
    return readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}
