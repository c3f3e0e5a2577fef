/**
 * The `diffship` command line: builds the commander program, runs it, and turns
 * every failure into one `diffship: <message>` line and an exit code
 * (0 ok, 2 usage/config/ref/lock/connection, 1 anything else).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { describeError, exitCodeFor } from '../errors.js';
import { processOutput, type Output } from './output.js';

/** A module that registers one or more commands on the program. */
interface CommandModule {
  /** The command names it registers. */
  names: readonly string[];
  load(): Promise<(program: Command, out: Output) => void>;
}

/**
 * Every command module, one line each. A module is imported only when one of
 * its commands runs (or for help), so `diffship diff` starts without loading
 * the config, rollout or SSH code, and each command pays only for itself.
 */
const COMMANDS: readonly CommandModule[] = [
  { names: ['diff'], load: async () => (await import('./diff.js')).registerDiff },
  {
    names: ['plan', 'deploy', 'rollback'],
    load: async () => (await import('./rollout-command.js')).registerRolloutCommands,
  },
  { names: ['status', 'unlock'], load: async () => (await import('./status.js')).registerStatus },
  { names: ['demo'], load: async () => (await import('./demo.js')).registerDemo },
];

/** package.json sits two folders up from both src/cli/ and lib/cli/. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/**
 * The program with the commands `args` needs registered (all of them when
 * `args` is omitted or names no known command: help, typos, no command).
 * Commands inherit exitOverride and the output settings.
 */
export async function buildProgram(
  out: Output = processOutput(),
  args?: readonly string[],
): Promise<Command> {
  const program = new Command('diffship')
    .description('Ship the git diff between two releases to a fleet of hosts.')
    .version(packageVersion(), '-V, --version')
    .option('--repo <dir>', 'git repository folder', '.')
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.stdout.write(s),
      writeErr: (s) => out.stderr.write(s),
      // commander's usage errors become our one line: "diffship: unknown option '--x' (Did you mean --y?)".
      outputError: (s, write) => write(`diffship: ${oneLine(s.replace(/^error:\s*/i, ''))}\n`),
    });

  const name = args && commandName(program, args);
  const versionOnly =
    name === undefined && args !== undefined && args.some((a) => a === '-V' || a === '--version');
  const chosen = COMMANDS.filter((c) => name !== undefined && c.names.includes(name));
  if (versionOnly) return program;
  for (const module of chosen.length > 0 ? chosen : COMMANDS) (await module.load())(program, out);
  return program;
}

/** The first argument that is not a program-level option (or its value): the command's name. */
export function commandName(program: Command, args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return args[i + 1];
    if (!arg.startsWith('-') || arg === '-') return arg;
    const option = program.options.find((o) => o.long === arg || o.short === arg);
    if (option?.required) i++; // "--repo dir": skip the value too
  }
  return undefined;
}

function oneLine(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
}

/**
 * What a person sees for an error: one line, except a config with several
 * problems, which lists one per line (as docs/config.md shows) so each can be
 * read and fixed.
 */
function errorText(error: unknown): string {
  // By name, so that commands without a config don't load the config code.
  const problems =
    error instanceof Error && error.name === 'ConfigValidationError'
      ? (error as { problems?: unknown[] }).problems
      : undefined;
  if (error instanceof Error && problems && problems.length > 1) {
    return error.message
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '')
      .map((l, i) => (i === 0 ? l.trim() : `  ${l.trim()}`))
      .join('\n');
  }
  return oneLine(describeError(error));
}

/** Run the CLI on `argv` (as in process.argv) and return the exit code. Never throws. */
export async function main(
  argv: readonly string[] = process.argv,
  out: Output = processOutput(),
): Promise<number> {
  try {
    const program = await buildProgram(out, argv.slice(2));
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version "fail" with exit code 0; every other commander error is bad usage.
      return error.exitCode === 0 ? 0 : 2;
    }
    // The summary already said what failed; only the exit code is left to give.
    // (Checked by name first so that other commands' errors don't load the rollout code.)
    if (error instanceof Error && error.name === 'RolloutFailed') {
      const { RolloutFailed } = await import('./rollout-command.js');
      if (error instanceof RolloutFailed) return error.exit;
    }
    out.stderr.write(`diffship: ${errorText(error)}\n`);
    return exitCodeFor(error);
  }
}
