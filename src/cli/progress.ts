/**
 * Live progress of a rollout on stderr. On a TTY, a block redrawn in place
 * (log-update): one line per wave and per target with its current step, file
 * counts and the latest check attempt. Elsewhere (CI logs), one plain line per
 * event, so logs read top to bottom.
 */
import type { Logger } from '../log.js';
import { colorEnabled, colorsFor, type Colors, type Output } from './output.js';
import type { Progress } from './progress-parts.js';

export type { Progress } from './progress-parts.js';

async function createProgress(out: Output, c: Colors, live: boolean): Promise<Progress> {
  // log-update (and its string-width tables) load only for a live terminal: CI logs start faster.
  if (!live) return (await import('./progress-lines.js')).lineProgress(out, c);
  const { liveProgress } = await import('./progress-live.js');
  return liveProgress(out, c, (await import('log-update')).createLogUpdate);
}

/**
 * A command's progress on stderr (none when `shown` is false: `--no-progress`) and its logger:
 * info lines only with progress, warnings and errors always, through the progress block when
 * there is one so that a line is not drawn over.
 */
export async function progressAndLog(
  out: Output,
  shown: boolean,
): Promise<{ progress: Progress | null; log: Logger }> {
  const progress = shown
    ? await createProgress(
        out,
        colorsFor(out.stderr, out.env),
        out.stderr.isTTY === true && colorEnabled(out.stderr, out.env),
      )
    : null;
  const log: Logger = {
    debug: () => undefined,
    info: (m) => progress?.log('info', m),
    warn: (m) => (progress ? progress.log('warn', m) : out.stderr.write(`diffship: warning: ${m}\n`)),
    error: (m) => (progress ? progress.log('info', `diffship: ${m}`) : out.stderr.write(`diffship: ${m}\n`)),
  };
  return { progress, log };
}
