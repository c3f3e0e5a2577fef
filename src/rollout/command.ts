/**
 * How a rollout talks about a command it ran (a hook's, a command check's),
 * wherever it ran: one phrase for how it ended and the end of its output. The
 * running itself is src/transport/local/run-local.ts (this machine) or a transport.
 */
import { formatDuration } from '../report/format.js';

/** What any command run (local or over a transport) reports about how it ended. */
export interface CommandOutcome {
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted?: boolean;
  error?: string;
}

/** One phrase for how a command ended: `exited with code 3`, `timed out after 5s`, `cancelled`. */
export function describeExit(outcome: CommandOutcome, timeoutMs?: number): string {
  if (outcome.error) return `could not start: ${outcome.error}`;
  if (outcome.timedOut) return timeoutMs ? `timed out after ${formatDuration(timeoutMs)}` : 'timed out';
  if (outcome.aborted) return 'cancelled';
  if (outcome.code !== null) return `exited with code ${outcome.code}`;
  return `killed by ${outcome.signal ?? 'a signal'}`;
}

/**
 * The end of some output, for reports and terminals: at most `maxLines` lines
 * and `maxBytes` bytes (UTF-8), trailing whitespace removed. A cut is marked `…`.
 */
export function trimOutput(text: string, maxLines = 20, maxBytes = 2048): string {
  let out = text.replace(/\s+$/, '');
  let cut = false;
  const lines = out.split('\n');
  if (lines.length > maxLines) {
    out = lines.slice(-maxLines).join('\n');
    cut = true;
  }
  const bytes = Buffer.from(out, 'utf8');
  if (bytes.length > maxBytes) {
    // Skip UTF-8 continuation bytes so we never start inside a character.
    let start = bytes.length - maxBytes;
    while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
    out = bytes.subarray(start).toString('utf8');
    cut = true;
  }
  return cut ? `…\n${out}` : out;
}
