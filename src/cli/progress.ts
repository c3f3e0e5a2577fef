/**
 * Live progress of a rollout on stderr. On a TTY, a block redrawn in place
 * (log-update): one line per wave and per target with its current step, file
 * counts and the latest check attempt. Elsewhere (CI logs), one plain line per
 * event, so logs read top to bottom.
 */
import type { RolloutEvent } from '../rollout/events.js';
import type { StepName, TargetReport } from '../report/types.js';
import { formatBytes, formatCompactDuration } from '../report/format.js';
import type { Colors, Output } from './output.js';
import { displayName } from './output.js';

interface Row {
  name: string;
  wave: number;
  state: 'waiting' | 'running' | TargetReport['status'];
  step?: StepName;
  note: string;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Progress {
  onEvent(e: RolloutEvent): void;
  log(level: 'info' | 'warn', message: string): void;
  /** Stop redrawing, leaving the last frame on screen. */
  done(): void;
}

export async function createProgress(out: Output, c: Colors, live: boolean): Promise<Progress> {
  // log-update (and its string-width tables) load only for a live terminal: CI logs start faster.
  return live ? liveProgress(out, c, (await import('log-update')).createLogUpdate) : lineProgress(out, c);
}

function lineProgress(out: Output, c: Colors): Progress {
  const w = (s: string) => out.stderr.write(`${s}\n`);
  let lastProgress = new Map<string, number>();
  const lastAttempt = new Map<string, string>();
  return {
    onEvent(e) {
      switch (e.type) {
        case 'start':
          w(
            `deploy ${e.deployId}: ${e.to ? `release ${e.to.slice(0, 12)}, ` : ''}${e.waves.length} wave(s): ${e.waves.map((x) => `[${x.join(', ')}]`).join(' ')}`,
          );
          break;
        case 'wave-start':
          w(c.bold(`wave ${e.wave + 1}: ${e.targets.join(', ')}`));
          break;
        case 'step-end': {
          const mark = e.step.status === 'ok' ? c.green('ok') : c.red('FAILED');
          const line = stepLine(e.step);
          const detail = line ? ` — ${line}` : '';
          w(`  [${e.target}] ${e.step.name} ${mark} (${formatCompactDuration(e.step.durationMs)})${detail}`);
          break;
        }
        case 'check-attempt': {
          // A check retried 30 times with the same answer is one line, not 30.
          const key = `${e.target}\0${e.check}`;
          if (lastAttempt.get(key) === e.message) break;
          lastAttempt.set(key, e.message);
          w(`  [${e.target}] ${e.check}: attempt ${e.attempt}: ${e.message}`);
          break;
        }
        case 'progress': {
          // Small deploys say it all in the apply step's line; large ones get a line per 10%.
          if (e.progress.total < 100) break;
          const pct = Math.floor((e.progress.done / Math.max(1, e.progress.total)) * 10);
          const key = `${e.target}:${e.progress.phase}`;
          if (lastProgress.get(key) === pct && e.progress.done !== e.progress.total) break;
          lastProgress.set(key, pct);
          w(
            `  [${e.target}] ${e.progress.phase} ${e.progress.done}/${e.progress.total} (${formatBytes(e.progress.bytes)})`,
          );
          break;
        }
        case 'target-end':
          w(
            `  [${e.target.name}] ${paintStatus(c, e.target.status)}${e.target.error ? `: ${e.target.error.split('\n')[0]}` : ''}`,
          );
          break;
        case 'halt':
          w(c.yellow(`halt: ${e.reason}`));
          break;
        case 'log':
          w(
            `${e.level === 'warn' ? c.yellow('warning: ') : ''}${e.target ? `[${e.target}] ` : ''}${e.message}`,
          );
          break;
        default:
          break;
      }
    },
    log(level, message) {
      w(`${level === 'warn' ? c.yellow('warning: ') : ''}${message}`);
    },
    done() {
      lastProgress = new Map();
    },
  };
}

function liveProgress(
  out: Output,
  c: Colors,
  createLogUpdate: typeof import('log-update').createLogUpdate,
): Progress {
  const render = createLogUpdate(out.stderr as NodeJS.WriteStream, { showCursor: false });
  const rows = new Map<string, Row>();
  const waves: string[][] = [];
  const logs: string[] = [];
  let header = '';
  let frame = 0;
  const draw = () => {
    const lines = [header];
    waves.forEach((names, i) => {
      lines.push(c.bold(`wave ${i + 1}`));
      for (const n of names) {
        const r = rows.get(n)!;
        const icon =
          r.state === 'running'
            ? c.cyan(SPINNER[frame % SPINNER.length]!)
            : r.state === 'waiting'
              ? c.dim('·')
              : r.state === 'deployed' || r.state === 'planned' || r.state === 'unchanged'
                ? c.green('✓')
                : r.state === 'skipped'
                  ? c.dim('-')
                  : c.red('✗');
        const state = r.state === 'running' ? (r.step ?? '') : paintStatus(c, r.state);
        lines.push(
          `  ${icon} ${displayName(r.name).padEnd(16)} ${state.padEnd(10)} ${c.dim(r.note)}`.trimEnd(),
        );
      }
    });
    render([...logs.slice(-5), ...lines].join('\n'));
  };
  const timer = setInterval(() => {
    frame++;
    draw();
  }, 100);
  timer.unref();
  return {
    onEvent(e) {
      switch (e.type) {
        case 'start':
          header = `deploy ${e.deployId}${e.to ? ` · release ${e.to.slice(0, 12)}` : ''}`;
          e.waves.forEach((names, i) => {
            waves.push(names);
            for (const name of names) rows.set(name, { name, wave: i, state: 'waiting', note: '' });
          });
          break;
        case 'target-start':
          rows.get(e.target)!.state = 'running';
          break;
        case 'step-start': {
          const r = rows.get(e.target)!;
          r.step = e.step;
          r.note = '';
          break;
        }
        case 'step-end':
          if (e.step.status === 'failed')
            rows.get(e.target)!.note = `${e.step.name}: ${e.step.detail.split('\n')[0]}`;
          break;
        case 'progress':
          rows.get(e.target)!.note =
            `${e.progress.phase} ${e.progress.done}/${e.progress.total} files · ${formatBytes(e.progress.bytes)}`;
          break;
        case 'check-attempt':
          rows.get(e.target)!.note = `${e.check} · attempt ${e.attempt}: ${e.message}`;
          break;
        case 'target-end': {
          const r = rows.get(e.target.name)!;
          r.state = e.target.status;
          const ch = e.target.changes;
          r.note = e.target.error
            ? e.target.error.split('\n')[0]!
            : `+${ch.added.length} ~${ch.updated.length} -${ch.deleted.length} · ${formatBytes(e.target.bytes)}`;
          break;
        }
        case 'halt':
          logs.push(c.yellow(`halt: ${e.reason}`));
          break;
        case 'log':
          logs.push(
            `${e.level === 'warn' ? c.yellow('warning: ') : ''}${e.target ? `[${e.target}] ` : ''}${e.message}`,
          );
          break;
        default:
          break;
      }
      draw();
    },
    log(level, message) {
      logs.push(`${level === 'warn' ? c.yellow('warning: ') : ''}${message}`);
      draw();
    },
    done() {
      clearInterval(timer);
      draw();
      render.done();
    },
  };
}

function paintStatus(c: Colors, status: string): string {
  if (status === 'deployed' || status === 'planned' || status === 'unchanged') return c.green(status);
  if (status === 'failed' || status === 'rollback-unhealthy') return c.red(status);
  if (status === 'rolled-back') return c.yellow(status);
  return c.dim(status);
}

/**
 * The one line of a step's detail worth showing: a failure's reason comes first, an ok
 * command's last line is its conclusion (a JSON answer's first line would be "{").
 */
export function stepLine(step: { status: string; detail: string }): string {
  const lines = step.detail
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (step.status === 'ok' ? lines.at(-1) : lines[0]) ?? '';
}
