/**
 * The action: inputs → library → outputs, job summary, annotations, artifact,
 * PR comment. `run()` never throws and never leaves a failed rollout green:
 * anything thrown, Error or not, ends in `core.setFailed` with one line.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import { fleetController } from '../cancelled.js';
import { DiffshipError, describeError } from '../errors.js';
import { maskSecrets, maskingLogger, type Logger } from '../log.js';
import { statusMarkdown, summaryMarkdown } from '../report/markdown.js';
import type { Report } from '../report/types.js';
import { uploadReport } from './artifact.js';
import { maskDeep } from './mask.js';
import { postPlanComment } from './comment.js';
import { readSettings, type ActionSettings } from './inputs.js';
import {
  emptyOutputs,
  failureAnnotations,
  failureMessage,
  reportOutputs,
  type ActionOutputs,
} from './outputs.js';
import { runCommand } from './run-command.js';
import { statusFailure, statusOutputs, statusRow } from './status.js';
import { TargetLog } from './target-log.js';
import { safeLines } from './log-safe.js';

/** GitHub rejects step summaries above 1 MiB; leave room for other steps. */
const SUMMARY_LIMIT = 900_000;

/** The library call (run-command.ts); tests pass a stand-in to exercise the action around it. */
export type CommandRunner = typeof runCommand;

/**
 * Run the action. Resolves always; failures are reported through `core.setFailed`.
 *
 * @example await run() // src/action/index.ts; tests pass a stand-in runner
 */
export async function run(runner: CommandRunner = runCommand): Promise<void> {
  const secrets: string[] = [];
  const addSecret = (piece: string) => {
    core.setSecret(piece);
    secrets.push(piece);
  };
  const controller = fleetController();
  const onSignal = (signal: NodeJS.Signals) => {
    core.warning(
      `Received ${signal}: starting nothing new, rolling back targets in flight, writing the report.`,
    );
    controller.abort(new DiffshipError('E_CANCELLED', `cancelled by ${signal}`));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const settings = readSettings({ onSecret: addSecret });
    await act(settings, runner, { secrets, addSecret, signal: controller.signal });
  } catch (error) {
    setOutputs(emptyOutputs('failed'));
    core.setFailed(oneLine(maskSecrets(describeError(error), secrets)));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

interface Context {
  secrets: string[];
  addSecret: (piece: string) => void;
  signal: AbortSignal;
}

async function act(settings: ActionSettings, runner: CommandRunner, ctx: Context): Promise<void> {
  core.debug(
    `diffship ${settings.command} to=${settings.to} config=${settings.configFile} targets=${settings.targets?.join(',') ?? '(all)'} ` +
      `mode=${settings.mode ?? '(config)'} dry-run=${settings.dryRun}`,
  );
  const log: Logger = maskingLogger(
    {
      debug: (m) => core.debug(m),
      // The engine's lines hold file names and target errors: never a workflow command.
      info: (m) => safeLines(m).forEach((line) => core.info(line)),
      warn: (m) => core.warning(m),
      // Failures get annotations from the report, titled with target and step; an
      // engine error line would only duplicate them.
      error: (m) => safeLines(`error: ${m}`).forEach((line) => core.info(line)),
    },
    ctx.secrets,
  );
  const mask = (text: string) => maskSecrets(text, ctx.secrets);
  const targetLog = new TargetLog({
    startGroup: (title) => core.startGroup(mask(title)),
    info: (line) => core.info(mask(line)),
    warning: (line) => core.warning(mask(line)),
    endGroup: () => core.endGroup(),
  });

  const result = await runner(settings, {
    log,
    onEvent: (event) => targetLog.handle(event),
    onSecret: ctx.addSecret,
    signal: ctx.signal,
  });

  const dir = await fs.mkdtemp(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'diffship-'));
  const file = path.join(dir, 'diffship-report.json');

  if (result.kind === 'status') {
    const infos = maskDeep(result.targets, ctx.secrets);
    await fs.writeFile(
      file,
      JSON.stringify({ version: 1, command: 'status', targets: infos }, null, 2) + '\n',
    );
    setOutputs(statusOutputs(infos, file));
    await writeSummary(statusMarkdown(infos.map(statusRow)));
    for (const info of infos) {
      if (info.error) core.error(oneLine(info.error), { title: `diffship: cannot inspect ${info.name}` });
      else if (info.drift.length) {
        core.warning(
          `${info.drift.length} file(s) changed on the target by hand: ${info.drift.slice(0, 10).join(', ')}`,
          {
            title: `diffship: drift on ${info.name}`,
          },
        );
      }
    }
    await uploadReport(settings.reportArtifact, file);
    const failure = statusFailure(infos);
    if (failure) core.setFailed(failure);
    return;
  }

  const report = maskDeep(result.report, ctx.secrets);
  await fs.writeFile(file, JSON.stringify(report, null, 2) + '\n');
  targetLog.finish(report);
  setOutputs(reportOutputs(report, file));
  await writeSummary(summaryMarkdown(report));
  for (const { title, message } of failureAnnotations(report)) core.error(oneLine(message), { title });
  if (settings.comment) {
    // postPlanComment warns on API errors; this guards the step against anything else.
    await postPlanComment(report, settings.githubToken, commentKey(settings)).catch((error: unknown) =>
      core.warning(`Could not post the plan comment: ${describeError(error)}`),
    );
  }
  await uploadReport(settings.reportArtifact, file);
  const failure = failureMessage(report);
  if (failure) core.setFailed(failure);
  else core.info(doneLine(report));
}

function setOutputs(outputs: ActionOutputs): void {
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value);
}

async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) {
    core.debug('GITHUB_STEP_SUMMARY is not set: no job summary written.');
    return;
  }
  const text =
    markdown.length > SUMMARY_LIMIT
      ? markdown.slice(0, SUMMARY_LIMIT) +
        '\n\n… summary cut at 900 kB: the full report is in the artifact.\n'
      : markdown;
  try {
    await core.summary.addRaw(text).write();
  } catch (error) {
    // The rollout happened; a summary that cannot be written must not hide its outcome.
    core.warning(
      `Could not write the job summary: ${error instanceof Error ? error.message : String(error)}`,
    );
    core.summary.emptyBuffer();
  }
}

/** The config path relative to the workspace: tells two diffship steps' PR comments apart. */
function commentKey(settings: ActionSettings): string {
  const workspace = process.env.GITHUB_WORKSPACE || process.cwd();
  return path.relative(workspace, settings.configFile).split(path.sep).join('/');
}

function doneLine(report: Report): string {
  const n = report.targets.length;
  const of = report.to ? ` of ${report.to.slice(0, 7)}` : '';
  return `diffship ${report.command}${of}: ${report.status} (${n} target${n === 1 ? '' : 's'}, ${report.waves.length} wave${report.waves.length === 1 ? '' : 's'})`;
}

/** Annotations and the failure line are single lines: multi-line messages are joined. */
function oneLine(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
}
