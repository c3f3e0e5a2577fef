/** `diffship diff`: list what changed between two releases (SPEC §1, §6). */
import type { Command } from 'commander';
import { SUBMODULE_MODE, type Change, type DiffResult } from '../diff/types.js';
import type { Logger } from '../log.js';
import { colorsFor, displayName, warn, type Colors, type Output } from './output.js';

interface DiffFlags {
  from?: string;
  to: string;
  source: string;
  include?: string[];
  exclude?: string[];
  renames: boolean;
  json?: boolean;
  repo: string;
}

/** Repeatable option: each use appends (no default, so help shows none). */
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Register `diff` on the program. */
export function registerDiff(program: Command, out: Output): void {
  program
    .command('diff')
    .description('list the files added, updated, deleted and renamed between two releases')
    .option(
      '--from <ref>',
      'old release: tag, branch or SHA (omitted: the empty tree, so everything is added)',
    )
    .option('--to <ref>', 'new release', 'HEAD')
    .option('--source <dir>', 'folder of the repository to ship; paths are relative to it', '.')
    .option('--include <glob>', 'only paths matching this glob (repeatable)', collect)
    .option(
      '--exclude <glob>',
      'leave out paths matching this glob (repeatable; wins over --include)',
      collect,
    )
    .option('--no-renames', 'report a rename as a deletion plus an addition')
    .option('--json', 'print the change set as JSON')
    .action(async (_options: unknown, command: Command) => {
      const flags = command.optsWithGlobals<DiffFlags>();
      const logger: Logger = { debug() {}, info() {}, warn: (m) => warn(out, m), error: (m) => warn(out, m) };
      const options = {
        repo: flags.repo,
        from: flags.from ?? null,
        to: flags.to,
        source: flags.source,
        include: flags.include,
        exclude: flags.exclude,
        renames: flags.renames,
        logger,
      };
      // Loaded on use: registering a command must cost (almost) nothing for the others.
      if (flags.json) {
        // Formatted straight from git's records and written in chunks (no object per change).
        const { diffJson, writeChunks } = await import('../diff/diff-json.js');
        const text = await diffJson(null, { ...options, indent: out.stdout.isTTY ? 2 : 0 });
        await warnAbout(out, flags, text.summary.to, text.shipsAFile, text.submodules);
        await writeChunks(out.stdout, text.chunks()).catch((error: unknown) => {
          // A reader that stopped early (`diffship diff --json | head -c 100`) is not an error.
          if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
        });
        return;
      }
      const { diffReleases } = await import('../diff/diff-releases.js');
      const result = await diffReleases(options);
      const shipsAFile = result.changes.some((c) => c.status !== 'deleted' && c.mode !== SUBMODULE_MODE);
      const submodules = result.changes.filter(isSubmodule).map((c) => c.path);
      await warnAbout(out, flags, result.to, shipsAFile, submodules);
      out.stdout.write(formatDiff(result, colorsFor(out.stdout, out.env)));
    });
}

/** The selection problems a deploy refuses, and submodules: said on stderr, as warnings. */
async function warnAbout(
  out: Output,
  flags: DiffFlags,
  to: string,
  shipsAFile: boolean,
  submodules: readonly string[],
): Promise<void> {
  // A file of the release among the changes proves the source folder exists and the
  // selection matches a file: then there is nothing to check (no git process, no listing).
  if (!shipsAFile) {
    const { selectionProblem } = await import('../diff/selection.js');
    const problem = await selectionProblem(null, {
      repo: flags.repo,
      to,
      source: flags.source,
      include: flags.include,
      exclude: flags.exclude,
    });
    if (problem !== null) warn(out, problem);
  }
  if (submodules.length > 0) {
    const names = submodules.slice(0, 5).map(displayName);
    const more = submodules.length > 5 ? `, … (${submodules.length - 5} more)` : '';
    const what =
      submodules.length === 1 ? '1 submodule entry is' : `${submodules.length} submodule entries are`;
    warn(out, `${what} reported but never shipped: ${names.join(', ')}${more}`);
  }
}

function isSubmodule(change: Change): boolean {
  return (
    ('mode' in change && change.mode === SUBMODULE_MODE) ||
    ('oldMode' in change && change.oldMode === SUBMODULE_MODE)
  );
}

const LETTER = { added: 'A', updated: 'M', deleted: 'D', renamed: 'R' } as const;

/** The human listing: one line per change, then a count line. Pure. */
export function formatDiff(result: DiffResult, c: Colors): string {
  const paint = { added: c.green, updated: c.yellow, deleted: c.red, renamed: c.cyan } as const;
  const lines = result.changes.map((change) => {
    const letter = paint[change.status](LETTER[change.status]);
    const note: string[] = [];
    let name = displayName(change.path);
    if (change.status === 'renamed') {
      name = `${displayName(change.oldPath)} ${c.dim('→')} ${name}`;
      note.push(`${change.similarity}%`);
    }
    if (change.status === 'updated' || change.status === 'renamed') {
      if (change.mode !== change.oldMode) note.push(`mode ${change.oldMode} → ${change.mode}`);
    }
    if (isSubmodule(change)) note.push('submodule, not shipped');
    return `${letter}  ${name}${note.length > 0 ? c.dim(` (${note.join(', ')})`) : ''}`;
  });
  lines.push(c.bold(summary(result)));
  return `${lines.join('\n')}\n`;
}

function summary({ from, to, changes, counts }: DiffResult): string {
  const range = `${from === null ? 'the empty tree' : from.slice(0, 12)} → ${to.slice(0, 12)}`;
  if (changes.length === 0) return `no changes (${range})`;
  const n = changes.length;
  return (
    `${n} ${n === 1 ? 'change' : 'changes'} (${range}): ` +
    `${counts.added} added, ${counts.updated} updated, ${counts.deleted} deleted, ${counts.renamed} renamed`
  );
}
