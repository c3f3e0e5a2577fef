/**
 * Every git process the diff engine starts. argv arrays only (never a shell),
 * stdout kept as bytes so names survive exactly, refs passed on stdin or after
 * `--end-of-options` so none can act as an option.
 */
import { DiffshipError, GitError } from '../errors.js';
import { endProcess, spawnGit, takeEarly, type GitListeners } from './early-git.js';
import type { CommitPair } from './ref-guess.js';
import { batchInput, CAT_FILE_BATCH, diffTreeArgs, type DiffTreeOptions } from './requests.js';

export interface GitOutput {
  stdout: Buffer;
  stderr: string;
}

/** Env for git: pathspec switches that would change what `:(top,literal)` means are removed. */
export function gitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0' };
  for (const key of [
    'GIT_LITERAL_PATHSPECS',
    'GIT_GLOB_PATHSPECS',
    'GIT_NOGLOB_PATHSPECS',
    'GIT_ICASE_PATHSPECS',
  ]) {
    delete env[key];
  }
  return env;
}

/**
 * Run `git -C <repo> <args>` and collect its output.
 * @throws GitError E_GIT when git is missing or exits non-zero; DiffshipError
 *   E_USAGE when `repo` is not a git repository.
 */
export async function runGit(repo: string, args: readonly string[], input?: string): Promise<GitOutput> {
  const { chunks, stderr } = await startGit(repo, args, input ?? '').done;
  return { stdout: joined(chunks), stderr };
}

/** Output as it came, in chunks: joined only when someone asks (a streamed diff never does). */
interface GitChunks {
  chunks: Buffer[];
  stderr: string;
}

const joined = (chunks: Buffer[]): Buffer => (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));

/** A started git process: its stdin to write (and end), and its collected output. */
interface StartedGit {
  stdin: NodeJS.WritableStream;
  done: Promise<GitChunks>;
  /** The line the CLI's launcher already gave its stdin (which it then ended), or null. */
  fed: string | null;
  /** Hand stdout to `fn` chunk by chunk: what came so far, then the rest as it comes. */
  /** `keep` false: chunks go to `fn` only, not also kept for `done` (500,000 records are not held twice). */
  follow(fn: (chunk: Buffer) => void, keep?: boolean): void;
  /** Not wanted after all: stop it. */
  abandon(): void;
}

/**
 * Start `git -C <repo> <args>`, or take over the one the CLI's launcher started
 * for exactly this (`early`, see early-git.ts); `done` settles as `runGit` does
 * once stdin is ended, which `input` does right away. What a follower throws
 * rejects `done` (once git is done).
 */
function startGit(repo: string, args: readonly string[], input?: string, early = true): StartedGit {
  const env = gitEnv();
  const taken = early ? takeEarly(repo, args, input, env) : null;
  const child = taken?.child ?? spawnGit(repo, args, env);
  if (taken === null && input !== undefined) child.stdin.end(input);
  const out: Buffer[] = [];
  let follower: ((chunk: Buffer) => void) | null = null;
  let keepOut = true;
  let failure: unknown = null;
  const pass = (chunk: Buffer) => {
    if (follower === null || failure !== null) return;
    try {
      follower(chunk);
    } catch (error) {
      failure = error;
    }
  };
  const done = new Promise<GitChunks>((resolve, reject) => {
    const err: Buffer[] = [];
    const listeners: GitListeners = {
      out(chunk) {
        if (keepOut) out.push(chunk);
        pass(chunk);
      },
      err: (chunk) => err.push(chunk),
      error(error: NodeJS.ErrnoException) {
        const message =
          error.code === 'ENOENT'
            ? 'git is not installed or not on PATH; install git'
            : `cannot run git: ${error.message}`;
        reject(new GitError('E_GIT', message, { cause: error }));
      },
      close(code, signal) {
        const stderr = Buffer.concat(err).toString('utf8');
        if (code === 0 && failure !== null) reject(failure);
        else if (code === 0) resolve({ chunks: out, stderr });
        else reject(gitFailure(repo, args, stderr, code, signal));
      },
    };
    if (taken !== null) taken.attach(listeners);
    else {
      child.stdout.on('data', listeners.out);
      child.stderr.on('data', listeners.err);
      child.on('error', listeners.error);
      child.on('close', listeners.close);
    }
  });
  // git may exit early (bad repo) and close its stdin: that surfaces as the exit code.
  child.stdin.on('error', () => {});
  return {
    stdin: child.stdin,
    done,
    fed: taken?.fed ?? null,
    follow(fn, keep = true) {
      follower = fn;
      for (const chunk of out) pass(chunk);
      if (!keep) {
        keepOut = false;
        out.length = 0;
      }
    },
    abandon() {
      done.catch(() => {});
      endProcess(child);
    },
  };
}

export function gitFailure(
  repo: string,
  args: readonly string[],
  stderr: string,
  code: number | null,
  signal: NodeJS.Signals | null,
): DiffshipError {
  const line = firstMessage(stderr) ?? (signal ? `killed by ${signal}` : `exit code ${code}`);
  if (/not a git repository|cannot change to/i.test(line)) {
    return new DiffshipError(
      'E_USAGE',
      `${JSON.stringify(repo)} is not a git repository; pass --repo <dir> (${line})`,
    );
  }
  return new GitError('E_GIT', `git ${args[0] ?? ''} failed: ${line}`, { cause: new Error(stderr) });
}

/** git's most telling stderr line (fatal/error first), without its prefix. */
export function firstMessage(stderr: string): string | undefined {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const best = lines.find((l) => /^(fatal|error):/i.test(l)) ?? lines[0];
  return best?.replace(/^(fatal|error):\s*/i, '');
}

/** One answer of `git cat-file --batch`. */
export type CatFileResult =
  | { name: string; found: true; oid: string; type: string; content: Buffer }
  | { name: string; found: false; ambiguous: boolean };

/** `<oid> <type> <size>`: a found object. Anything else names the request and says why not. */
export const BATCH_HEADER = /^([0-9a-f]{40}|[0-9a-f]{64}) (\S+) (\d+)$/;

/**
 * Look up several object names (`v1^{commit}`, `<sha>:path`) in one git process.
 * Names travel on stdin, so nothing in them is ever read as an option.
 */
export async function catFileBatch(repo: string, names: readonly string[]): Promise<CatFileResult[]> {
  if (names.length === 0) return [];
  const { stdout } = await runGit(repo, CAT_FILE_BATCH, batchInput(names));
  return parseCatFileBatch(stdout, names);
}

/** Parse `cat-file --batch` output for the given names, in order. Pure. */
export function parseCatFileBatch(stdout: Buffer, names: readonly string[]): CatFileResult[] {
  const results: CatFileResult[] = [];
  let pos = 0;
  for (const name of names) {
    const eol = stdout.indexOf(0x0a, pos);
    if (eol < 0) throw new GitError('E_GIT', `git cat-file gave no answer for ${JSON.stringify(name)}`);
    const header = stdout.toString('utf8', pos, eol);
    const match = BATCH_HEADER.exec(header);
    if (match) {
      const size = Number(match[3]);
      const start = eol + 1;
      results.push({
        name,
        found: true,
        oid: match[1]!,
        type: match[2]!,
        content: stdout.subarray(start, start + size),
      });
      pos = start + size + 1; // contents are followed by a newline
    } else {
      results.push({ name, found: false, ambiguous: header.endsWith(' ambiguous') });
      pos = eol + 1;
    }
  }
  return results;
}

/** `git rev-parse --is-shallow-repository`. */
export async function isShallow(repo: string): Promise<boolean> {
  const { stdout } = await runGit(repo, ['rev-parse', '--is-shallow-repository']);
  return stdout.toString('utf8').trim() === 'true';
}

/**
 * `git fetch --depth=1 origin <ref>`: brings one commit (and its tree) into a
 * shallow clone. The fetched commit is named by FETCH_HEAD afterwards.
 */
export async function fetchOne(repo: string, ref: string): Promise<void> {
  await runGit(repo, [
    'fetch',
    '--depth=1',
    '--no-tags',
    '--no-recurse-submodules',
    '--quiet',
    'origin',
    '--end-of-options',
    ref,
  ]);
}

/**
 * The empty tree's id for the repository's hash: the hash of `tree 0\0`. Constants,
 * so `diffship diff` does not load node:crypto (~3 ms) for two fixed strings.
 */
export function emptyTreeId(oidLength: number): string {
  return oidLength === 64
    ? '6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321'
    : '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
}

/** A `git diff-tree` started ahead of time, waiting for the two trees to compare. */
export interface PendingDiffTree {
  /**
   * Compare tree `from` with tree `to` (full ids). Returns the raw `-z` records
   * and git's warnings (e.g. the rename limit was hit).
   */
  run(
    from: string,
    to: string,
    onRecords?: (chunk: Buffer) => void,
    /** False: `onRecords` takes everything and `stdout` comes back empty (500,000 records are not kept twice). */
    keepStdout?: boolean,
    /** The commits `from` and `to` are the trees of, when both are commits: a guess for them is kept. */
    commits?: CommitPair | null,
  ): Promise<GitOutput>;
  /** Not needed after all (a ref did not resolve): let the process end. */
  cancel(): void;
}

/**
 * Start `git diff-tree --stdin -r -z --raw` before the trees are known: it
 * starts while the refs resolve (one process start off the critical path), and
 * compares exactly the trees it is then given, so a ref that moves meanwhile
 * can't make it diff something else.
 *
 * With `guess` (commits read from the ref files, see ref-guess.ts) it is given
 * those commits at once and compares while the refs resolve; `run` keeps that
 * answer only when the refs resolved to exactly these commits.
 */
export function startDiffTree(
  repo: string,
  opts: DiffTreeOptions,
  guess?: CommitPair | null,
): PendingDiffTree {
  const args = diffTreeArgs(opts);
  let git = startGit(repo, args);
  let fed = git.fed;
  if (fed === null && guess) git.stdin.end((fed = commitLine(guess)));
  // It may fail (not a repository) before anyone awaits it: the lookups report that, not an unhandled rejection.
  git.done.catch(() => {});
  return {
    async run(from, to, records, keepStdout = true, commits = null) {
      const line = `${from} ${to}\n`;
      // What git writes first: the tree line, or for two commits the `to` commit's id (none when nothing changed).
      let header = line;
      if (commits && fed === commitLine(commits)) header = `${commits.to}\0`;
      else if (fed !== null && fed !== line) {
        // Given other trees or commits (the launcher's, or a wrong guess): a fresh process for these.
        git.abandon();
        git = startGit(repo, args, undefined, false);
        fed = null;
      }
      // Chunks go to `records` once the header is cut off the front.
      const kept = keepStdout || !records;
      if (records) git.follow(afterLine(header, records), kept);
      if (fed === null) git.stdin.end(line);
      const { chunks, stderr } = await git.done;
      let stdout = !kept ? Buffer.alloc(0) : records ? undefined : withoutTreeLine(joined(chunks), header);
      return {
        stderr,
        // Joined on first use: at 500,000 files that is a 10 MB copy a streamed diff does without.
        get stdout() {
          return (stdout ??= withoutTreeLine(joined(chunks), header));
        },
      };
    },
    cancel() {
      if (fed === null) git.stdin.end();
      else git.abandon();
    },
  };
}

/** `--stdin`'s line for two commits: the new one, then the one to compare it with (as its parent). */
export const commitLine = ({ from, to }: CommitPair): string => `${to} ${from}\n`;

/** Pass chunks on to `next` without the leading `line` (see withoutTreeLine). */
function afterLine(line: string, next: (chunk: Buffer) => void): (chunk: Buffer) => void {
  let head: Buffer | null = Buffer.alloc(0);
  return (chunk) => {
    if (head === null) return next(chunk);
    head = Buffer.concat([head, chunk]);
    if (head[0] !== 0x3a && head.length < line.length) return; // ':' starts a record
    const rest = withoutTreeLine(head, line);
    head = null;
    if (rest.length > 0) next(rest);
  };
}

/** `--stdin` output starts with the objects compared (see `run`): not a record, so it goes. */
function withoutTreeLine(stdout: Buffer, line: string): Buffer {
  if (stdout.length === 0 || stdout[0] === 0x3a) return stdout; // ':' starts a record
  if (stdout.toString('latin1', 0, line.length) === line) return stdout.subarray(line.length);
  throw new GitError('E_GIT', `git diff-tree answered for other trees than ${line.replace('\0', '').trim()}`);
}

/**
 * A listing of tree `to` in place of a diff from the empty tree: `git ls-tree
 * -r -z` under the same pathspec. Its records go to `onRecords` (and `stdout`)
 * as ls-tree writes them, not as diff-tree's: the release check reads them so
 * (release-summary.ts, listing-count.ts; tree-listing.ts rewrites the records
 * it does not count). It starts once the tree is known: ls-tree holds nothing
 * while diff-tree holds every pair of the release (188 MB of git at 500,000 files).
 */
export function startTreeListing(repo: string, prefix: string): PendingDiffTree {
  let started: StartedGit | null = null;
  return {
    async run(_from, to, records, keepStdout = true) {
      const git = (started = startGit(repo, treeListingArgs(to, prefix), '', false));
      const keep = keepStdout || !records;
      if (records) git.follow(records, keep);
      const { chunks, stderr } = await git.done;
      return { stderr, stdout: keep ? joined(chunks) : Buffer.alloc(0) };
    },
    cancel() {
      started?.abandon();
    },
  };
}

/** ls-tree's arguments for a listing of `treeish` (a tree, or a commit's tree) under `prefix`. */
export function treeListingArgs(treeish: string, prefix: string): string[] {
  const args = ['ls-tree', '-r', '-z', '--full-tree', treeish, '--'];
  if (prefix !== '') args.push(`:(top,literal)${prefix}`);
  return args;
}
