/**
 * The `diffship` command line: builds the commander program, runs it, and turns
 * every failure into one `diffship: <message>` line and an exit code
 * (0 ok, 2 usage/config/ref/lock/connection, 1 anything else).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { describeError, exitCodeFor } from '../errors.js';
import { registerDiff } from './diff.js';
import { registerRolloutCommands, RolloutFailed } from './rollout-command.js';
import { registerStatus } from './status.js';
import { processOutput, type Output } from './output.js';

/** package.json sits two folders up from both src/cli/ and lib/cli/. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** The program with every command registered. Commands inherit exitOverride and output settings. */
export function buildProgram(out: Output = processOutput()): Command {
  const program = new Command('diffship')
    .description('Ship the git diff between two releases to a fleet of hosts.')
    .version(packageVersion(), '-V, --version')
    .option('--repo <dir>', 'git repository folder', '.')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.stdout.write(s),
      writeErr: (s) => out.stderr.write(s),
      // commander's usage errors become our one line: "diffship: unknown option '--x' (Did you mean --y?)".
      outputError: (s, write) => write(`diffship: ${oneLine(s.replace(/^error:\s*/i, ''))}\n`),
    });

  // One line per command.
  registerDiff(program, out);
  registerRolloutCommands(program, out);
  registerStatus(program, out);

  return program;
}

function oneLine(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
}

/** Run the CLI on `argv` (as in process.argv) and return the exit code. Never throws. */
export async function main(
  argv: readonly string[] = process.argv,
  out: Output = processOutput(),
): Promise<number> {
  try {
    await buildProgram(out).parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version "fail" with exit code 0; every other commander error is bad usage.
      return error.exitCode === 0 ? 0 : 2;
    }
    // The summary already said what failed; only the exit code is left to give.
    if (error instanceof RolloutFailed) return error.exit;
    out.stderr.write(`diffship: ${oneLine(describeError(error))}\n`);
    return exitCodeFor(error);
  }
}
