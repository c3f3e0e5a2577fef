/**
 * `diffship diff` starts its two git processes before the CLI has loaded
 * (bin/diffship.js calls `startDiffEarly` first): the ref lookup and
 * `git diff-tree` then run while commander and the diff code load.
 *
 * Only a command line read completely, as commander would read it, gets them;
 * anything else (help, `--flag=value`, an unknown or repeated flag, a value
 * that looks like an option, a ref or source the diff would refuse) is left to
 * the normal path alone. The diff itself always runs the normal way and takes
 * these processes over only when it asks git for exactly the same thing
 * (src/diff/early-git.ts), so the output is the same either way.
 */
import { startEarly, type EarlyGit } from '../diff/early-git.js';
import { commitLine, emptyTreeId, gitEnv, parseCatFileBatch } from '../diff/git.js';
import { guessPair } from '../diff/ref-guess.js';
import { normalizeRef, normalizeSource } from '../diff/ref.js';
import { batchInput, CAT_FILE_BATCH, commitTree, diffTreeArgs, refLookups } from '../diff/requests.js';

/** What decides the git requests of a `diff` command line (the rest is for later). */
interface EarlyFlags {
  repo: string;
  from?: string;
  to: string;
  source?: string;
  renames: boolean;
}

/** Flags of `diff` that take a value; the two last may repeat. */
const VALUED = new Set(['--repo', '--from', '--to', '--source', '--include', '--exclude']);
const REPEATABLE = new Set(['--include', '--exclude']);

/**
 * The flags of a `diff` command line (argv without node and the script), or
 * null when it is anything this does not read completely. Pure.
 */
export function preParseDiff(args: readonly string[]): EarlyFlags | null {
  const values = new Map<string, string>();
  let command = false;
  let renames = true;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!command && arg === 'diff') command = true;
    else if (command && arg === '--json') continue;
    else if (command && arg === '--no-renames') renames = false;
    // Before the command only the program's own --repo.
    else if ((command && VALUED.has(arg)) || arg === '--repo') {
      const value = args[++i];
      if (value === undefined || value.startsWith('-')) return null;
      if (!REPEATABLE.has(arg)) {
        if (values.has(arg)) return null;
        values.set(arg, value);
      }
    } else return null;
  }
  if (!command) return null;
  const flags: EarlyFlags = { repo: values.get('--repo') ?? '.', to: values.get('--to') ?? 'HEAD', renames };
  if (values.has('--from')) flags.from = values.get('--from')!;
  if (values.has('--source')) flags.source = values.get('--source')!;
  return flags;
}

/** The longest the launcher waits for the lookups before it loads the CLI anyway. */
const WAIT_MS = 200;

/**
 * Start the diff's git processes when `argv` (process.argv) is a `diff` command
 * line read completely; else do nothing. Resolves once `git diff-tree` has its
 * trees (or can't have them early): the launcher waits for that before it
 * loads the rest, because loading never lets the event loop turn, so the
 * answer would otherwise be read only when the diff code asks for it. Never rejects.
 */
export function startDiffEarly(argv: readonly string[]): Promise<void> {
  try {
    const flags = preParseDiff(argv.slice(2));
    if (flags === null) return Promise.resolve();
    // As rawDiff reads them (src/diff/diff-releases.ts).
    const from = normalizeRef(flags.from, 'from');
    const to = normalizeRef(flags.to, 'to') ?? 'HEAD';
    const { prefix } = normalizeSource(flags.source);
    const env = gitEnv();
    const names = refLookups(from === null ? [to] : [to, from], prefix);
    // A listing (no from) without rename detection, as rawDiff runs it.
    const renames = from !== null && flags.renames;
    const startDiffTree = () => startEarly(flags.repo, diffTreeArgs({ renames, prefix }), undefined, env);
    // Commits read from the ref files: git diff-tree starts first and compares them at once, nothing
    // to wait for (the diff keeps that answer only if the lookups agree, see git.ts).
    const guess = guessPair(flags.repo, from, to);
    if (guess !== null) {
      startDiffTree().feed(commitLine(guess));
      startEarly(flags.repo, CAT_FILE_BATCH, batchInput(names), env);
      return Promise.resolve();
    }
    const lookups = startEarly(flags.repo, CAT_FILE_BATCH, batchInput(names), env);
    return feedTrees(lookups, startDiffTree(), names, from !== null);
  } catch {
    // A ref or source the diff refuses: the normal path says why.
    return Promise.resolve();
  }
}

/**
 * Once the lookups have answered, give `git diff-tree` the two trees, as rawDiff
 * would (src/diff/diff-releases.ts): the diff then runs while the CLI still
 * loads. Only for the plain case, both commits found with their trees; anything
 * else (a ref to fetch, an error) waits for the normal path.
 */
function feedTrees(
  lookups: EarlyGit,
  diffTree: EarlyGit,
  names: readonly string[],
  withFrom: boolean,
): Promise<void> {
  const chunks: Buffer[] = [];
  const { child } = lookups;
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  let settle = () => {};
  // The timer also keeps the event loop alive meanwhile: the early processes do not.
  const timer = setTimeout(() => settle(), WAIT_MS);
  const waited = new Promise<void>((resolve) => {
    settle = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  child.once('error', () => settle());
  child.stdout.once('close', () => settle());
  child.stdout.once('end', () => {
    settle();
    try {
      const [to, from] = parseCatFileBatch(Buffer.concat(chunks), names);
      const toTree = to?.found === true ? commitTree(to.content) : undefined;
      if (to?.found !== true || toTree === undefined) return;
      const fromTree = !withFrom
        ? emptyTreeId(to.oid.length)
        : from?.found === true
          ? commitTree(from.content)
          : undefined;
      if (fromTree !== undefined) diffTree.feed(`${fromTree} ${toTree}\n`);
    } catch {
      // Malformed or cut short: the normal path reads the same answer and says so.
    }
  });
  return waited;
}

/** For the launcher: ends the early processes the diff did not take (it asked git for something else). */
export { dropEarly } from '../diff/early-git.js';
