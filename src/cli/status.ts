/** `diffship status` and `diffship unlock`: look at targets, and clear a lock by hand. */
import { Option, type Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { DiffshipError } from '../errors.js';
import type { TargetStatusInfo } from '../apply/inspect.js';
import { status } from '../rollout/status.js';
import { describeLock } from '../apply/lock.js';
import { describeUnlock, unlock } from '../rollout/unlock.js';
import { formatBytes } from '../report/format.js';
import { paceGarbage } from '../gc-pacer.js';
import { colorsFor, warn, writeJson, type Output } from './output.js';

export function registerStatus(program: Command, out: Output): void {
  program
    .command('status')
    .description('show, per target, the release it holds, when it was deployed, drift and the lock')
    .option('-c, --config <file>', 'config file', 'diffship.yml')
    .option('--targets <list>', 'targets by name or label:X (default: all)')
    .option('--json', 'print JSON')
    .action(async (flags: { config: string; targets?: string; json?: boolean }, cmd: Command) => {
      const repo = (cmd.optsWithGlobals() as { repo: string }).repo;
      const config = await loadConfig(flags.config, { env: out.env });
      for (const w of config.warnings ?? []) warn(out, w);
      // A big target's drift check makes garbage a batch of manifest lines at a time (gc-pacer.ts).
      const stopPacing = paceGarbage();
      const infos = await status({ config, repo, targets: flags.targets }).finally(stopPacing);
      if (flags.json) writeJson(out, { targets: infos });
      else out.stdout.write(`${renderStatus(infos, colorsFor(out.stdout, out.env))}\n`);
      if (infos.some((i) => i.error !== null)) {
        throw new DiffshipError(
          'E_CONNECT',
          `${infos.filter((i) => i.error).length} target(s) could not be read`,
        );
      }
    });

  program
    .command('unlock')
    .description("clear a target's deploy lock by hand (when its holder is gone)")
    .option('--targets <list>', 'the targets to unlock, by name or label:X, comma-separated')
    .addOption(new Option('--target <name>', 'the same as --targets (older name)').hideHelp())
    .option('-c, --config <file>', 'config file', 'diffship.yml')
    .action(async (flags: { config: string; targets?: string; target?: string }) => {
      const config = await loadConfig(flags.config, { env: out.env });
      const selectors = [flags.targets, flags.target].filter((v): v is string => v !== undefined);
      if (selectors.length === 0)
        throw new DiffshipError('E_USAGE', 'unlock: say which targets to unlock: --targets <name>[,<name>…]');
      for (const r of await unlock({ config, targets: selectors }))
        out.stdout.write(`${describeUnlock(r)}\n`);
    });
}

/**
 * Status checks every file of the recorded release; say what plan and deploy do with that
 * (docs/drift.md), so status never claims drift a deploy would silently leave alone.
 */
function driftLine(i: TargetStatusInfo, c: ReturnType<typeof colorsFor>): string {
  if (i.release === null) return c.green('none');
  if (!i.driftChecked) return c.yellow('unknown');
  if (i.drift.length === 0) return c.green('none');
  const folders = new Set(i.driftFolders ?? []);
  const files = i.drift.filter((p) => !folders.has(p));
  const lines: string[] = [];
  if (files.length > 0) {
    const list = `${files.length} file(s): ${files.slice(0, 10).join(', ')}${files.length > 10 ? ', …' : ''}`;
    const scope =
      i.driftScope === 'all'
        ? 'drift-scope: all — plan and deploy check these and apply on-drift to them'
        : 'drift-scope: changes — plan and deploy check only the files they change and leave the others as they are; set drift-scope: all (or --drift-scope all) to act on them';
    lines.push(c.yellow(list), c.dim(scope));
  }
  // No on-drift setting replaces a folder (docs/drift.md): say so, not "set drift-scope: all".
  if (folders.size > 0) {
    const dirs = [...folders];
    lines.push(
      c.yellow(
        `${dirs.length} folder(s) where the release has a file: ${dirs.slice(0, 10).join(', ')}${dirs.length > 10 ? ', …' : ''}`,
      ),
      c.dim(
        'diffship never replaces a folder with a file: a plan or deploy that writes one of these files stops (E_UNSAFE) — move or remove the folder on the target',
      ),
    );
  }
  return lines.join('\n            ');
}

function renderLock(i: TargetStatusInfo, c: ReturnType<typeof colorsFor>): string {
  if (i.lockUnreadable)
    return c.yellow(
      `unreadable lock file — ${i.lockUnreadable}; the next deploy takes it over, or \`diffship unlock\` removes it`,
    );
  if (!i.lock) return 'free';
  return `${describeLock(i.lock)}${i.lock.stale ? c.yellow(` — stale: ${i.lock.stale}`) : ''}`;
}

function renderStatus(infos: TargetStatusInfo[], c: ReturnType<typeof colorsFor>): string {
  const lines: string[] = [];
  for (const i of infos) {
    lines.push(c.bold(i.name));
    if (i.error) {
      lines.push(`  ${c.red('error')}: ${i.error}`);
      continue;
    }
    lines.push(
      `  release:  ${i.release ?? c.dim('none recorded')}${i.deployedAt ? `  (deployed ${i.deployedAt}, ${i.mode})` : ''}`,
    );
    if (i.previousRelease) lines.push(`  previous: ${i.previousRelease}`);
    if (i.note) lines.push(`  ${c.yellow('note')}:     ${i.note}`);
    for (const h of i.heldBack ?? [])
      lines.push(
        `  ${c.yellow('held back')}: unit ${h.name} (${h.path}) has its files of ${h.release?.slice(0, 12) ?? 'no release'} after a unit rollback — the next deploy ships it again`,
      );
    lines.push(`  drift:    ${driftLine(i, c)}`);
    lines.push(`  lock:     ${renderLock(i, c)}`);
    const size = i.usage ? ` (${formatBytes(i.usage.backups.bytes)})` : '';
    lines.push(`  backups:  ${i.backups.length}${size}${i.kept ? `   kept files: ${i.kept}` : ''}`);
    for (const id of i.uncommittedBackups ?? [])
      lines.push(
        `  ${c.yellow('leftover')}: backup ${id} of a deploy cut off before its commit (it undoes nothing) — the next deploy or rollback removes it`,
      );
    if (i.usage && i.usage.staging.count > 0) {
      lines.push(
        `  staging:  ${c.yellow(`${i.usage.staging.count} left over by a failed run (${formatBytes(i.usage.staging.bytes)})`)} — the next deploy removes it`,
      );
    }
    if (i.recovery === 'finish')
      lines.push(
        `  ${c.yellow('an interrupted deploy is in place and recorded; the next run only drops its journal')}`,
      );
    else if (i.interrupted)
      lines.push(`  ${c.yellow('an interrupted deploy will be undone by the next run')}`);
  }
  return lines.join('\n');
}
