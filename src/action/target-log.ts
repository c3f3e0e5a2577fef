/**
 * Logs grouped per target. Targets of a wave run in parallel, so their lines
 * would interleave; each target's lines are buffered and printed as one
 * collapsible group (`::group::`) when the target ends. Targets the engine
 * never reported on get their group from the final report, so every target
 * has one either way.
 *
 * Everything here may carry text from a release or a target (file names,
 * errors, hook output): a group's body is printed inside an inert
 * `::stop-commands::` block, any other line through `safeLines` (log-safe.ts).
 */
import type { Report, StepReport, TargetReport } from '../report/types.js';
import { formatBytes, formatDuration, targetDurationMs } from '../report/markdown.js';
import type { RolloutEvent } from '../rollout/events.js';
import { inertText, safeLines } from './log-safe.js';

/** Where lines go: core.startGroup/info/warning/endGroup in the action, an array in tests. */
export interface GroupSink {
  startGroup(title: string): void;
  info(line: string): void;
  warning(line: string): void;
  endGroup(): void;
}

const STEP_ICON: Record<StepReport['status'], string> = { ok: '✓', failed: '✗', skipped: '–' };

function stepLine(step: StepReport): string {
  const detail = step.detail ? `: ${step.detail}` : '';
  return `  ${STEP_ICON[step.status]} ${step.name} (${formatDuration(step.durationMs)})${detail}`;
}

function groupTitle(target: TargetReport): string {
  const c = target.changes;
  const counts = `+${c.added.length + c.renamed.length} ~${c.updated.length} -${c.deleted.length}`;
  return `${target.name}: ${target.status} (wave ${target.wave + 1}, ${counts}, ${formatBytes(target.bytes)}, ${formatDuration(targetDurationMs(target))})`;
}

/** Most change lines a group shows; the report has them all. */
const CHANGE_LINES = 100;

/** The change set of a planned target (or one without steps), `+`/`~`/`-` as in the PR comment. */
function changeLines(target: TargetReport): string[] {
  const c = target.changes;
  const all = [
    ...c.added.map((p) => `  + ${p}`),
    ...c.updated.map((p) => `  ~ ${p}`),
    ...c.renamed.map((r) => `  + ${r.to} (renamed from ${r.from})`),
    ...c.deleted.map((p) => `  - ${p}`),
    ...c.kept.map((p) => `  # ${p} (kept)`),
    ...c.drift.map((p) => `  ! ${p} (drift)`),
  ];
  if (all.length <= CHANGE_LINES) return all;
  return [...all.slice(0, CHANGE_LINES), `  … and ${all.length - CHANGE_LINES} more (see the report)`];
}

/** Buffers each target's lines and prints them as one group when the target ends. */
export class TargetLog {
  private readonly buffers = new Map<string, string[]>();
  private readonly printed = new Set<string>();

  constructor(private readonly sink: GroupSink) {}

  /** Feed one rollout event. */
  handle(event: RolloutEvent): void {
    switch (event.type) {
      case 'start':
        this.print(
          `diffship ${event.deployId}: shipping ${event.to ? event.to.slice(0, 12) : '(rollback)'} in ${event.waves.length} wave(s)`,
        );
        return;
      case 'wave-start':
        this.print(`Wave ${event.wave + 1}: ${event.targets.join(', ')}`);
        return;
      case 'halt':
        this.sink.warning(`Rollout halted: ${event.reason}`);
        return;
      case 'target-start':
        this.lines(event.target).push(`${event.target}: started (wave ${event.wave + 1})`);
        return;
      case 'step-end':
        this.lines(event.target).push(stepLine(event.step));
        return;
      case 'check-attempt':
        this.lines(event.target).push(`    ${event.check} attempt ${event.attempt}: ${event.message}`);
        return;
      case 'log':
        if (event.target)
          this.lines(event.target).push(`  ${event.level === 'warn' ? 'warning: ' : ''}${event.message}`);
        else if (event.level === 'warn') this.sink.warning(event.message);
        else this.print(event.message);
        return;
      case 'target-end': {
        const name = event.target.name;
        // A second end for a printed target with nothing new (the engine may report an end twice) prints nothing.
        if (this.printed.has(name) && !this.buffers.get(name)?.length) return;
        if (event.target.status === 'planned') this.lines(name).push(...changeLines(event.target));
        if (event.target.error) this.lines(name).push(`  error: ${event.target.error}`);
        this.flush(name, groupTitle(event.target));
        return;
      }
      default:
        // step-start, progress, wave-end: the step-end line and the group title say it all.
        return;
    }
  }

  /** Print a group for every target of the report that has not had one, and for lines that came after a target's end. */
  finish(report: Report): void {
    for (const target of report.targets) {
      const lines = this.buffers.get(target.name) ?? [];
      if (this.printed.has(target.name)) {
        // Events after the target's own end (`rollback: all` undoing it) get a second group.
        if (lines.length > 0) this.flush(target.name, `${groupTitle(target)} (continued)`);
        continue;
      }
      if (lines.length === 0) {
        for (const step of target.steps) lines.push(stepLine(step));
        if (target.steps.length === 0 || target.status === 'planned') lines.push(...changeLines(target));
        if (target.error) lines.push(`  error: ${target.error}`);
      }
      this.buffers.set(target.name, lines);
      this.flush(target.name, groupTitle(target));
    }
  }

  /** One line outside a group: newlines escaped, wrapped when it looks like a command. */
  private print(text: string): void {
    for (const line of safeLines(text)) this.sink.info(line);
  }

  private lines(name: string): string[] {
    let lines = this.buffers.get(name);
    if (!lines) this.buffers.set(name, (lines = []));
    return lines;
  }

  private flush(name: string, title: string): void {
    const lines = this.buffers.get(name) ?? [];
    this.buffers.delete(name);
    this.printed.add(name);
    this.sink.startGroup(title);
    if (lines.length === 0) this.sink.info('  (no steps)');
    // Hook output, errors and file names: the runner acts on no command inside.
    else for (const line of inertText(lines)) this.sink.info(line);
    this.sink.endGroup();
  }
}
