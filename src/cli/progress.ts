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
import { fitLine, type Segment } from './fit.js';

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

/** A CI log must never look hung: with steps running, at least one line this often. */
export const HEARTBEAT_MS = 5000;

function lineProgress(out: Output, c: Colors): Progress {
  let lastWrite = Date.now();
  const w = (s: string) => {
    lastWrite = Date.now();
    out.stderr.write(`${s}\n`);
  };
  let lastProgress = new Map<string, number>();
  const lastAttempt = new Map<string, { message: string; at: number }>();
  // Steps in flight, by target: what the heartbeat names.
  const running = new Map<string, { step: string; since: number; attempt?: string }>();
  const heartbeat = setInterval(() => {
    if (running.size === 0 || Date.now() - lastWrite < HEARTBEAT_MS) return;
    for (const [target, r] of running) {
      const last = r.attempt ? ` — last: ${r.attempt}` : '';
      w(`  [${target}] ${r.step} still running (${formatCompactDuration(Date.now() - r.since)})${last}`);
    }
  }, 500);
  heartbeat.unref();
  return {
    onEvent(e) {
      switch (e.type) {
        case 'start':
          w(
            `${e.command ?? 'deploy'} ${e.deployId}: ${e.to ? `release ${e.to.slice(0, 12)}, ` : ''}${e.waves.length} wave(s): ${e.waves.map((x) => `[${x.join(', ')}]`).join(' ')}`,
          );
          break;
        case 'wave-start':
          w(c.bold(`wave ${e.wave + 1}: ${e.targets.join(', ')}`));
          break;
        case 'step-start':
          running.set(e.target, { step: e.step, since: Date.now() });
          break;
        case 'step-end': {
          running.delete(e.target);
          const mark = e.step.status === 'ok' ? c.green('ok') : c.red('FAILED');
          const line = stepLine(e.step);
          const detail = line ? ` — ${line}` : '';
          w(`  [${e.target}] ${e.step.name} ${mark} (${formatCompactDuration(e.step.durationMs)})${detail}`);
          break;
        }
        case 'check-attempt': {
          // A check retried 30 times with the same answer is one line per 5 s, not 30.
          const key = `${e.target}\0${e.check}`;
          const r = running.get(e.target);
          if (r) r.attempt = `${e.check}: attempt ${e.attempt}: ${e.message}`;
          const last = lastAttempt.get(key);
          if (last?.message === e.message && Date.now() - last.at < HEARTBEAT_MS) break;
          lastAttempt.set(key, { message: e.message, at: Date.now() });
          const same = last?.message === e.message ? ' (same as before)' : '';
          w(`  [${e.target}] ${e.check}: attempt ${e.attempt}: ${e.message}${same}`);
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
          running.delete(e.target.name);
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
      clearInterval(heartbeat);
      running.clear();
      lastProgress = new Map();
    },
  };
}

/** Terminal size: rows and columns of the stream, with the usual defaults off a terminal. */
function screen(stream: { columns?: number; rows?: number }): { columns: number; rows: number } {
  return { columns: stream.columns || 80, rows: stream.rows || 24 };
}

/**
 * The live block. It is redrawn in place, so it must keep to the screen: every
 * line is cut one column short of the width (no line ever wraps, so the line
 * count log-update erases is the line count on screen), and the block is at
 * most the screen's height less one (so erasing it never reaches above it).
 * Log lines are printed above the block and stay; the block is never part of
 * what scrolls away.
 */
function liveProgress(
  out: Output,
  c: Colors,
  createLogUpdate: typeof import('log-update').createLogUpdate,
): Progress {
  const stream = out.stderr as NodeJS.WriteStream;
  const render = createLogUpdate(stream, { showCursor: false });
  const rows = new Map<string, Row>();
  const waves: string[][] = [];
  let header: Segment[] = [];
  let frame = 0;
  let finished = false;
  const lines = (): string[] => {
    const { columns, rows: height } = screen(stream);
    const width = columns - 1;
    const body: Segment[][] = [];
    waves.forEach((names, i) => {
      body.push([[`wave ${i + 1}`, c.bold]]);
      for (const n of names) body.push(rowSegments(rows.get(n)!, c, frame));
    });
    let all = [header, ...body];
    const max = Math.max(2, height - 1);
    if (all.length > max) all = [header, ...collapse(waves, rows, c, frame, max - 1)];
    return all.map((segments) => fitLine(segments, width));
  };
  const draw = () => {
    if (!finished) render(lines().join('\n'));
  };
  const timer = setInterval(() => {
    frame++;
    draw();
  }, 100);
  timer.unref();
  const print = (text: string) => {
    // Above the block, for good: erase the block, write the line (whole: it may wrap, it is
    // never redrawn), draw the block again below it.
    render.persist(text);
    draw();
  };
  return {
    onEvent(e) {
      switch (e.type) {
        case 'start':
          header = [
            [`${e.command ?? 'deploy'} ${e.deployId}`],
            [e.to ? ` · release ${e.to.slice(0, 12)}` : ''],
          ];
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
          skipWaiting(rows);
          print(c.yellow(`halt: ${e.reason}`));
          return;
        case 'log':
          print(
            `${e.level === 'warn' ? c.yellow('warning: ') : ''}${e.target ? `[${e.target}] ` : ''}${e.message}`,
          );
          return;
        default:
          break;
      }
      draw();
    },
    log(level, message) {
      print(`${level === 'warn' ? c.yellow('warning: ') : ''}${message}`);
    },
    done() {
      if (finished) return;
      clearInterval(timer);
      // The rollout is over: a target that never started was skipped, not waiting.
      skipWaiting(rows);
      draw();
      finished = true;
      render.done();
    },
  };
}

/** Targets that had not started when the rollout stopped. */
function skipWaiting(rows: Map<string, Row>): void {
  for (const r of rows.values()) {
    if (r.state === 'waiting') {
      r.state = 'skipped';
      r.note = 'not started';
    }
  }
}

function rowSegments(r: Row, c: Colors, frame: number): Segment[] {
  const [icon, paintIcon] =
    r.state === 'running'
      ? [SPINNER[frame % SPINNER.length]!, c.cyan]
      : r.state === 'waiting'
        ? ['·', c.dim]
        : r.state === 'deployed' || r.state === 'planned' || r.state === 'unchanged'
          ? ['✓', c.green]
          : r.state === 'skipped'
            ? ['-', c.dim]
            : ['✗', c.red];
  const state = r.state === 'running' ? (r.step ?? '') : r.state;
  return [
    ['  '],
    [icon, paintIcon],
    [` ${displayName(r.name).padEnd(16)} `],
    [state, r.state === 'running' ? undefined : (s) => paintStatus(c, s)],
    [' '.repeat(Math.max(1, 12 - state.length))],
    [r.note, c.dim],
  ];
}

/**
 * More targets than screen rows: one line per wave (its counts), and the
 * targets of the wave in progress as far as they fit.
 */
function collapse(
  waves: string[][],
  rows: Map<string, Row>,
  c: Colors,
  frame: number,
  max: number,
): Segment[][] {
  const out: Segment[][] = [];
  const current = waves.findIndex((names) => names.some((n) => rows.get(n)!.state === 'running'));
  waves.forEach((names, i) => {
    const counts = new Map<string, number>();
    for (const n of names) counts.set(rows.get(n)!.state, (counts.get(rows.get(n)!.state) ?? 0) + 1);
    const tally = [...counts].map(([s, k]) => `${k} ${s}`).join(', ');
    out.push([
      [`wave ${i + 1}`, c.bold],
      [`  ${tally}`, c.dim],
    ]);
    if (i === current) {
      const running = names.filter((n) => rows.get(n)!.state === 'running');
      for (const n of running) out.push(rowSegments(rows.get(n)!, c, frame));
    }
  });
  return out.length > max
    ? [...out.slice(0, max - 1), [[`… ${out.length - max + 1} more line(s)`, c.dim]]]
    : out;
}

function paintStatus(c: Colors, status: string): string {
  if (status === 'deployed' || status === 'planned' || status === 'unchanged') return c.green(status);
  if (status === 'failed') return c.red(status);
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
