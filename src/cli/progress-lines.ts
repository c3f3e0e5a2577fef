/**
 * Progress off a terminal (CI logs, pipes): one plain line per event, so logs
 * read top to bottom, and a line at least every 5 seconds while a step runs.
 */
import { formatBytes, formatDuration } from '../report/format.js';
import type { RolloutEvent } from '../rollout/events.js';
import type { Colors, Output } from './output.js';
import { paintStatus, stepLine, type Progress } from './progress-parts.js';

/** A CI log must never look hung: with steps running, at least one line this often. */
export const HEARTBEAT_MS = 5000;

/**
 * Elapsed time on the monotonic clock: a wall clock stepped back (NTP, a VM resumed) kept the
 * heartbeat quiet until it caught up, and one stepped forward printed a step as running 19 s
 * five seconds after it started.
 */
const now = (): number => performance.now();

export function lineProgress(out: Output, c: Colors): Progress {
  let lastWrite = now();
  const w = (s: string) => {
    lastWrite = now();
    out.stderr.write(`${s}\n`);
  };
  let lastProgress = new Map<string, number>();
  const lastAttempt = new Map<string, { message: string; at: number }>();
  // Steps in flight, by target: what the heartbeat names.
  const running = new Map<string, { step: string; since: number; attempt?: string }>();
  const heartbeat = setInterval(() => {
    if (running.size === 0 || now() - lastWrite < HEARTBEAT_MS) return;
    for (const [target, r] of running) {
      const last = r.attempt ? ` — last: ${r.attempt}` : '';
      w(`  [${target}] ${r.step} still running (${formatDuration(now() - r.since)})${last}`);
    }
  }, 500);
  heartbeat.unref();
  // A check retried 30 times with the same answer is one line per 5 s, not 30.
  const onAttempt = (e: Extract<RolloutEvent, { type: 'check-attempt' }>) => {
    const key = `${e.target}\0${e.check}`;
    const r = running.get(e.target);
    if (r) r.attempt = `${e.check}: attempt ${e.attempt}: ${e.message}`;
    const last = lastAttempt.get(key);
    if (last?.message === e.message && now() - last.at < HEARTBEAT_MS) return;
    lastAttempt.set(key, { message: e.message, at: now() });
    const same = last?.message === e.message ? ' (same as before)' : '';
    w(`  [${e.target}] ${e.check}: attempt ${e.attempt}: ${e.message}${same}`);
  };
  // Small deploys say it all in the apply step's line; large ones get a line per 10%.
  const onProgress = (e: Extract<RolloutEvent, { type: 'progress' }>) => {
    if (e.progress.total < 100) return;
    const pct = Math.floor((e.progress.done / Math.max(1, e.progress.total)) * 10);
    const key = `${e.target}:${e.progress.phase}`;
    if (lastProgress.get(key) === pct && e.progress.done !== e.progress.total) return;
    lastProgress.set(key, pct);
    w(
      `  [${e.target}] ${e.progress.phase} ${e.progress.done}/${e.progress.total} (${formatBytes(e.progress.bytes)})`,
    );
  };
  return {
    onEvent(e) {
      switch (e.type) {
        case 'step-start':
          running.set(e.target, { step: e.step, since: now() });
          break;
        case 'step-end': {
          running.delete(e.target);
          const mark = e.step.status === 'ok' ? c.green('ok') : c.red('FAILED');
          const line = stepLine(e.step);
          const detail = line ? ` — ${line}` : '';
          w(`  [${e.target}] ${e.step.name} ${mark} (${formatDuration(e.step.durationMs)})${detail}`);
          break;
        }
        case 'check-attempt':
          onAttempt(e);
          break;
        case 'progress':
          onProgress(e);
          break;
        case 'target-end':
          running.delete(e.target.name);
          w(
            `  [${e.target.name}] ${paintStatus(c, e.target.status)}${e.target.error ? `: ${e.target.error.split('\n')[0]}` : ''}`,
          );
          break;
        default: {
          const line = plainLine(e, c);
          if (line !== null) w(line);
        }
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

/** The one-line form of the events that need no state. */
function plainLine(e: RolloutEvent, c: Colors): string | null {
  switch (e.type) {
    case 'start': {
      const release = e.to ? `release ${e.to.slice(0, 12)}, ` : '';
      const waves = e.waves.map((x) => `[${x.join(', ')}]`).join(' ');
      return `${e.command ?? 'deploy'} ${e.deployId}: ${release}${e.waves.length} wave(s): ${waves}`;
    }
    case 'wave-start':
      return c.bold(`wave ${e.wave + 1}: ${e.targets.join(', ')}`);
    case 'halt':
      return c.yellow(`halt: ${e.reason}`);
    case 'log':
      return `${e.level === 'warn' ? c.yellow('warning: ') : ''}${e.target ? `[${e.target}] ` : ''}${e.message}`;
    default:
      return null;
  }
}
