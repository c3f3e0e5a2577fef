/**
 * What went wrong on each target, whole: the error (never cut) and the last
 * lines of the failed hook's or check's output, so the fix is on screen
 * (`/bin/sh: 1: ./lb-drain: not found`) without opening the JSON report.
 */
import type { Report, StepName, TargetReport } from './types.js';

/** Lines of output shown per failure: enough for a stack's last frames, short enough to scan. */
const OUTPUT_LINES = 10;

/** Steps whose detail is a reason line followed by a command's output. */
const WITH_OUTPUT: ReadonlySet<StepName> = new Set(['before', 'activate', 'verify', 'after', 'rollback']);

export interface FailureDetail {
  target: string;
  status: TargetReport['status'];
  /** The whole error: `before: run exited with code 127`. */
  error: string;
  /** The last lines of the failed step's output (empty when it had none). */
  output: string[];
}

// Hook output can hold terminal escapes: shown as text, never obeyed.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const clean = (line: string) => line.replace(CONTROL, '?');

/** Targets that failed (or were rolled back), in report order. Skipped targets are not failures. */
export function failureDetails(report: Report): FailureDetail[] {
  const out: FailureDetail[] = [];
  for (const t of report.targets) {
    const failed = t.steps.filter((s) => s.status === 'failed');
    if (t.status === 'skipped' || (t.error === null && failed.length === 0)) continue;
    const step = failed[0];
    const lines = (step?.detail ?? '')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(clean);
    const error = t.error ?? (step ? `${step.name}: ${lines[0] ?? ''}` : '');
    const output = step && WITH_OUTPUT.has(step.name) ? lines.slice(1).slice(-OUTPUT_LINES) : [];
    // A reason that spans lines (not command output) is shown whole too.
    if (step && !WITH_OUTPUT.has(step.name) && lines.length > 1) output.push(...lines.slice(1));
    out.push({ target: t.name, status: t.status, error: clean(error), output });
    for (const later of failed.slice(1)) {
      const [reason = '', ...rest] = later.detail
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map(clean);
      out.push({
        target: t.name,
        status: t.status,
        error: `${later.name}: ${reason}`,
        output: rest.slice(-OUTPUT_LINES),
      });
    }
  }
  return out;
}
