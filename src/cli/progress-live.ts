/**
 * The live progress block on a terminal (log-update): a line per wave and per
 * target, redrawn in place, that keeps to the screen.
 */
import type { RolloutEvent } from '../rollout/events.js';
import type { StepName, TargetReport } from '../report/types.js';
import { formatBytes } from '../report/format.js';
import type { Colors, Output } from './output.js';
import { displayName } from './output.js';
import { fitLine, type Segment } from './fit.js';
import { paintStatus, type Progress } from './progress-parts.js';

interface Row {
  name: string;
  wave: number;
  state: 'waiting' | 'running' | TargetReport['status'];
  step?: StepName;
  note: string;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

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
export function liveProgress(
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
          updateRow(rows, e);
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

/** A target's row after an event about it: its state, current step and note. */
function updateRow(rows: Map<string, Row>, e: RolloutEvent): void {
  switch (e.type) {
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
    default:
      break;
  }
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
