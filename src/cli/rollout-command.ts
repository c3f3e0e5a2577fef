/**
 * `diffship plan`, `deploy` and `rollback`: load the config, run the rollout
 * with live progress, print the summary (or the JSON report), write
 * `--report`, and exit 0/1/2 (SPEC §6). SIGINT/SIGTERM cancel the rollout:
 * nothing new starts, targets in flight roll back, locks are released.
 */
import type { Command } from 'commander';
import { loadConfig, withOverrides } from '../config/load.js';
import { fleetController } from '../cancelled.js';
import type { Mode } from '../config/types.js';
import { RELEASE_NAME } from '../config/placeholders.js';
import { DiffshipError } from '../errors.js';
import { rollout } from '../rollout/rollout.js';
import type { Report } from '../report/types.js';
import { renderSummary } from '../report/terminal.js';
import { writeReportFile } from '../report/write.js';
import { colorsFor, warn, writeJson, type Output } from './output.js';
import { progressAndLog } from './progress.js';
import { paceGarbage } from '../gc-pacer.js';

interface RolloutFlags {
  config: string;
  to?: string;
  targets?: string;
  mode?: string;
  json?: boolean;
  report?: string;
  dryRun?: boolean;
  maxDeletes?: string;
  onDrift?: string;
  driftScope?: string;
  skipPreflight?: boolean;
  waves?: string;
  maxParallel?: string;
  maxFailures?: string;
  progress?: boolean;
  dir?: string;
  releaseName?: string;
  fromManifest?: boolean;
  assumeEmpty?: boolean;
}

/** Shared flags of plan/deploy/rollback. */
function withCommonFlags(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'config file', 'diffship.yml')
    .option('--targets <list>', 'targets by name or label:X, comma-separated (default: all)')
    .option('--json', 'print the report as JSON on stdout')
    .option('--report <file>', 'also write the JSON report to this file')
    .option('--no-progress', 'no live progress on stderr');
}

/** Register plan, deploy and rollback. */
export function registerRolloutCommands(program: Command, out: Output): void {
  const deployish = (cmd: Command) =>
    withCommonFlags(cmd)
      .option('--to <ref>', 'release to ship: tag, branch or SHA (default: HEAD)')
      .option('--mode <mode>', 'additive or authoritative (overrides the config)')
      .option('--max-deletes <n>', 'refuse a deploy that would delete more files than this')
      .option('--on-drift <policy>', 'fail, overwrite or skip (overrides the config)')
      .option('--drift-scope <scope>', 'changes or all: the files drift is checked on (overrides the config)')
      .option('--waves <sizes>', 'wave sizes, e.g. 1,50%,100% (overrides the config)')
      .option('--max-parallel <n>', 'targets in flight at once inside a wave (overrides the config)')
      .option('--max-failures <n>', 'failed targets allowed before no further wave starts: a count or "N%"')
      .option('--dir <folder>', 'ship a built folder (its files as a git tree) instead of --to')
      .option('--release-name <name>', 'what reports and {release} call the release')
      .option('--from-manifest', "plan from each target's manifest, not its recorded commit")
      .option('--assume-empty', 'ignore the recorded release: a deliberate full redeploy')
      // A bare `deploy v4` gets a hint (bareRef) instead of commander's "too many arguments".
      .allowExcessArguments(true);

  deployish(
    program.command('plan').description('show what a deploy would do to each target, writing nothing'),
  ).action((flags: RolloutFlags, cmd: Command) => runRollout('plan', bareRef('plan', cmd, flags), cmd, out));
  deployish(program.command('deploy').description('ship the release to the targets, wave by wave'))
    .option('--dry-run', 'plan only (same as `diffship plan`)')
    .option('--skip-preflight', 'do not check every target before wave 1 (huge fleets)')
    .action((flags: RolloutFlags, cmd: Command) =>
      runRollout('deploy', bareRef('deploy', cmd, flags), cmd, out),
    );
  withCommonFlags(
    program.command('rollback').description("restore each target's previous release from its newest backup"),
  ).action((flags: RolloutFlags, cmd: Command) => runRollout('rollback', flags, cmd, out));
}

/** `diffship deploy v4`: the release goes in --to; say so rather than guess. */
function bareRef(command: string, cmd: Command, flags: RolloutFlags): RolloutFlags {
  const ref = cmd.args[0];
  if (ref === undefined) return flags;
  const more = flags.to === undefined ? '' : ` (--to ${flags.to} is given too)`;
  throw new DiffshipError(
    'E_USAGE',
    `unexpected argument "${ref}"${more} — the release goes in --to: diffship ${command} --to ${ref}`,
  );
}

async function runRollout(
  command: 'plan' | 'deploy' | 'rollback',
  flags: RolloutFlags,
  cmd: Command,
  out: Output,
): Promise<void> {
  const repo = (cmd.optsWithGlobals() as { repo: string }).repo;
  checkReleaseFlags(flags, cmd);
  const loaded = await loadConfig(flags.config, { env: out.env });
  const config = withOverrides(loaded, {
    mode: flags.mode as Mode | undefined,
    maxDeletes: flags.maxDeletes,
    onDrift: flags.onDrift,
    driftScope: flags.driftScope,
    waves: flags.waves,
    maxParallel: flags.maxParallel,
    maxFailures: flags.maxFailures,
  });
  if (command === 'plan' && flags.to === undefined)
    out.stderr.write('diffship: no --to given: planning HEAD (the commit checked out in --repo)\n');
  if (flags.skipPreflight) config.preflight = false;
  // Allowed but probably a mistake (e.g. a target folder holding the config): say so, then go on.
  for (const w of config.warnings ?? []) warn(out, w);
  const { progress, log } = await progressAndLog(out, flags.progress !== false);

  // First signal: cancel (roll back in-flight targets). Later ones: say we are on it.
  const controller = fleetController();
  let signals = 0;
  const onSignal = (name: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      log.warn(`${name}: cancelling — starting nothing new, rolling back targets in flight, releasing locks`);
      controller.abort();
    } else {
      log.warn(`${name}: still cleaning up so that no target is left half-deployed; please wait`);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let report: Report;
  // Per-file garbage of a big deploy collected as it piles up, not at 4× the live heap (gc-pacer.ts).
  const stopPacing = paceGarbage();
  try {
    report = await rollout({
      config,
      repo,
      to: flags.to ?? 'HEAD',
      command,
      targets: flags.targets,
      dryRun: flags.dryRun,
      dir: flags.dir,
      releaseName: flags.releaseName,
      fromManifest: flags.fromManifest,
      assumeEmpty: flags.assumeEmpty,
      signal: controller.signal,
      log,
      onEvent: (e) => progress?.onEvent(e),
    });
  } finally {
    stopPacing();
    progress?.done();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  if (flags.report) await writeReportFile(flags.report, report);
  if (flags.json) writeJson(out, report);
  else out.stdout.write(`${renderSummary(report, colorsFor(out.stdout, out.env), summaryWidth(out))}\n`);
  if (flags.report && !flags.json) out.stderr.write(`report: ${flags.report}\n`);

  // Cancelled: what still winds down in the background (a target given up on, see
  // rollout/hard-stop.ts) must not keep the process alive past the report.
  if (signals > 0) setTimeout(() => process.exit(), 100).unref();
  const exit = exitFor(report);
  if (exit !== 0) throw new RolloutFailed(exit, report);
}

/** The summary fits 80 columns, and a narrower terminal when it is shown on one. */
export function summaryWidth(out: Output): { width: number } {
  const stdout = out.stdout as { isTTY?: boolean; columns?: number };
  return { width: Math.min(80, stdout.isTTY && stdout.columns ? stdout.columns : 80) };
}

/** Flags that name the release or the plan's starting point must not contradict each other. */
function checkReleaseFlags(flags: RolloutFlags, cmd: Command): void {
  if (flags.dir !== undefined && cmd.getOptionValueSource('to') === 'cli')
    throw new DiffshipError('E_USAGE', '--dir and --to both name the release — give one of them');
  if (flags.fromManifest && flags.assumeEmpty)
    throw new DiffshipError(
      'E_USAGE',
      '--from-manifest and --assume-empty contradict each other — --assume-empty ignores the manifest; give one',
    );
  if (flags.releaseName !== undefined && !RELEASE_NAME.test(flags.releaseName))
    throw new DiffshipError(
      'E_USAGE',
      `--release-name ${JSON.stringify(flags.releaseName)}: give 1–200 letters, digits and . _ + @ : = - (starting with a letter or digit), e.g. build-77`,
    );
}

/**
 * 0 for success or nothing to do; 2 when every failure happened before anything
 * was written (lock, connection, ref); 1 otherwise.
 */
export function exitFor(report: Report): 0 | 1 | 2 {
  if (report.status === 'succeeded' || report.status === 'planned') return 0;
  const failed = report.targets.filter(
    (t) => t.status === 'failed' || t.status === 'rolled-back' || t.status === 'rollback-unhealthy',
  );
  const touched = report.targets.some((t) =>
    t.steps.some((s) => s.name === 'apply' || s.name === 'rollback'),
  );
  const early =
    failed.length > 0 &&
    failed.every(
      (t) =>
        t.steps.at(-1)?.name === 'lock' ||
        ['lock', 'preflight'].includes(t.steps.find((s) => s.status === 'failed')?.name ?? '') ||
        // A recorded release neither in the repository nor in a manifest: a ref problem, found before any write.
        (t.errorCode === 'E_REF' && t.steps.find((s) => s.status === 'failed')?.name === 'plan'),
    );
  return report.status !== 'cancelled' && early && !touched ? 2 : 1;
}

/** Thrown after the summary is printed: main() exits with `exit` and prints nothing more. */
export class RolloutFailed extends DiffshipError {
  constructor(
    readonly exit: 1 | 2,
    readonly report: Report,
  ) {
    super(exit === 2 ? 'E_CONNECT' : 'E_CHECK', `${report.command} ${report.status}`);
    this.name = 'RolloutFailed';
  }
}
