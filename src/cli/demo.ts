/**
 * `diffship demo`: the README's first command. No config, no server to set
 * up: it starts three example hosts, builds a throwaway repository and runs
 * three rollouts (src/demo/run.ts). Exit 0 when everything, including the
 * refusal of the broken v3, happened as designed; 1 otherwise or when
 * interrupted. Hosts are stopped however it ends.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { DiffshipError } from '../errors.js';
import { DemoHosts } from '../demo/hosts.js';
import { DemoCancelled, runDemo } from '../demo/run.js';
import { renderSummary } from '../report/terminal.js';
import type { Report } from '../report/types.js';
import { rollout, type RolloutOptions } from '../rollout/rollout.js';
import { colorsFor, type Output } from './output.js';
import { progressAndLog } from './progress.js';
import { summaryWidth } from './rollout-command.js';

export function registerDemo(program: Command, out: Output): void {
  program
    .command('demo')
    .description('see diffship work: three local example hosts, three releases, one broken (no setup)')
    .option('--dir <folder>', 'work in this (empty or new) folder instead of a fresh temp folder')
    .option('--no-progress', "no rollouts' live progress on stderr")
    .action(async (flags: { dir?: string; progress: boolean }) => {
      const hosts = new DemoHosts();
      const controller = new AbortController();
      // Ctrl-C: cancel the rollout in flight (it rolls back), then stop the hosts.
      // A third one gives up waiting: the hosts are killed and the process exits.
      let signals = 0;
      const onSignal = (name: NodeJS.Signals) => {
        signals++;
        if (signals === 1) {
          out.stderr.write(
            `\n${name}: stopping the demo — finishing the rollout in flight, then stopping the hosts\n`,
          );
          controller.abort();
        } else if (signals === 2) {
          out.stderr.write(`${name}: still cleaning up; press Ctrl-C once more to quit at once\n`);
        } else {
          hosts.killAll('SIGKILL');
          process.exit(130);
        }
      };
      const onExit = () => hosts.killAll();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      process.on('exit', onExit);
      // Hooks say `node ctl.mjs`: make that the node running diffship, whatever PATH holds.
      process.env.PATH = [path.dirname(process.execPath), process.env.PATH]
        .filter(Boolean)
        .join(path.delimiter);
      let ok = false;
      try {
        ok = (
          await runDemo({
            dir: flags.dir,
            out,
            paint: colorsFor(out.stdout, out.env),
            env: out.env,
            showRollout: (options) => showRollout(out, options, flags.progress),
            signal: controller.signal,
            hosts,
          })
        ).ok;
      } catch (error) {
        // Interrupted while starting a host or between rollouts: the same as inside one.
        if (!(error instanceof DemoCancelled) && !controller.signal.aborted) throw error;
      } finally {
        await hosts.stopAll();
        if (hosts.all.length > 0)
          out.stdout.write(`hosts    stopped (${hosts.all.map((h) => h.name).join(', ')})\n`);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.off('exit', onExit);
      }
      // main() prints the one line and exits 1.
      if (controller.signal.aborted)
        throw new DiffshipError('E_CANCELLED', 'demo interrupted; the rollout in flight was rolled back');
      if (!ok) throw new DiffshipError('E_CHECK', 'the demo did not behave as designed (see above)');
    });
}

/** One rollout with the CLI's live progress (stderr, unless `--no-progress`) and summary table (stdout). */
async function showRollout(
  out: Output,
  options: Pick<RolloutOptions, 'config' | 'repo' | 'to' | 'signal'>,
  shown: boolean,
): Promise<Report> {
  const { progress, log } = await progressAndLog(out, shown);
  let report: Report;
  try {
    report = await rollout({ ...options, log, onEvent: (e) => progress?.onEvent(e) });
  } finally {
    progress?.done();
  }
  out.stdout.write(`${renderSummary(report, colorsFor(out.stdout, out.env), summaryWidth(out))}\n`);
  return report;
}
