/**
 * `command` check: `run` on this machine (config folder) or `remote` on the
 * target (target folder); exit 0 passes. Retried every interval until the
 * timeout, and each attempt may use all the time that is left.
 */
import type { CheckSpec } from '../../config/types.js';
import { DiffshipError } from '../../errors.js';
import { runLocal } from '../../transport/local/run-local.js';
import { describeExit } from '../command.js';
import { commandBudget, retry, type Attempt, type CheckContext, type CheckResult } from './retry.js';

export type CommandCheck = Extract<CheckSpec, { kind: 'command' }>;

function lastLine(text: string): string {
  const line = text.trimEnd().split('\n').at(-1)?.trim() ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** Run a `command` check (commands already expanded). */
export function runCommandCheck(check: CommandCheck, ctx: CheckContext): Promise<CheckResult> {
  const where = check.run !== undefined ? 'run' : 'remote';
  const command = check.run ?? check.remote;
  if (!command) throw new DiffshipError('E_CHECK', 'command check has neither `run` nor `remote`');
  if (where === 'remote' && !ctx.transport) {
    throw new DiffshipError(
      'E_CHECK',
      'command check has `remote` but runCheck got no transport; pass ctx.transport',
    );
  }
  return retry(
    {
      intervalMs: check.intervalMs,
      timeoutMs: check.timeoutMs,
      attemptBudget: commandBudget,
      signal: ctx.signal,
      onAttempt: ctx.onAttempt,
    },
    async (_n, budgetMs): Promise<Attempt> => {
      let outcome: Parameters<typeof describeExit>[0];
      let output: string;
      if (where === 'run') {
        const r = await runLocal(command, {
          cwd: ctx.cwd,
          env: ctx.env,
          envPolicy: ctx.envPolicy,
          timeoutMs: budgetMs,
          signal: ctx.signal,
        });
        outcome = r;
        output = [r.stdout.trimEnd(), r.stderr.trimEnd()].filter(Boolean).join('\n');
      } else {
        try {
          const r = await ctx.transport!.exec(command, {
            env: ctx.env,
            envPolicy: ctx.envPolicy,
            timeoutMs: budgetMs,
            signal: ctx.signal,
          });
          outcome = r;
          output = [r.stdout.trimEnd(), r.stderr.trimEnd()].filter(Boolean).join('\n');
        } catch (error) {
          return {
            ok: false,
            message: `command (${where}) failed: ${error instanceof Error ? error.message : String(error)}`,
          };
        }
      }
      if (outcome.code === 0 && !outcome.timedOut) {
        const tail = lastLine(output);
        return { ok: true, message: `command (${where}) passed${tail ? `: ${tail}` : ''}` };
      }
      const tail = lastLine(output);
      return {
        ok: false,
        message: `command (${where}) ${describeExit(outcome, budgetMs)}${tail ? `: ${tail}` : ''}`,
        output,
      };
    },
  );
}
