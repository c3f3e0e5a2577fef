/**
 * The one place the action calls the library: load the config, apply the
 * input overrides and ssh defaults, run the command. Everything else in
 * src/action/ works on the values this returns, so a change in the library's
 * entry points is a change here only.
 */
import { loadConfig, withOverrides } from '../config/load.js';
import type { Logger } from '../log.js';
import type { Report } from '../report/types.js';
import type { RolloutEvent } from '../rollout/events.js';
import { rollout, status, type TargetStatusInfo } from '../rollout/rollout.js';
import { inputName, secretPieces, type ActionSettings } from './inputs.js';
import { withSshDefaults } from './ssh-defaults.js';
import { paceGarbage } from '../gc-pacer.js';

export type CommandResult =
  { kind: 'report'; report: Report } | { kind: 'status'; targets: TargetStatusInfo[] };

export interface CommandIo {
  log: Logger;
  onEvent: (event: RolloutEvent) => void;
  /** Called with every piece of every secret the config holds, before the engine runs. */
  onSecret: (piece: string) => void;
  signal: AbortSignal;
}

/** Run `settings.command` against the config; throws DiffshipError for bad config, refs and the like. */
export async function runCommand(settings: ActionSettings, io: CommandIo): Promise<CommandResult> {
  const loaded = await loadConfig(settings.configFile, { env: process.env });
  for (const secret of loaded.secrets) for (const piece of secretPieces(secret)) io.onSecret(piece);
  const withKey = withSshDefaults(
    withOverrides(
      loaded,
      { mode: settings.mode, waves: settings.waves, maxParallel: settings.maxParallel },
      { name: inputName },
    ),
    { privateKey: settings.sshPrivateKey, knownHosts: settings.sshKnownHosts },
  );
  // The token is a secret of this run too: masked in the engine's lines, kept from hooks under any name.
  const token = settings.githubToken;
  const config =
    token && !withKey.secrets.includes(token)
      ? { ...withKey, secrets: [...withKey.secrets, token] }
      : withKey;

  if (settings.command === 'status') {
    return {
      kind: 'status',
      targets: await status({ config, repo: settings.repo, targets: settings.targets }),
    };
  }

  // SPEC §6: `deploy --dry-run` equals `plan`.
  const command = settings.command === 'deploy' && settings.dryRun ? 'plan' : settings.command;
  // Per-file garbage of a big deploy collected as it piles up, not at 4× the live heap (gc-pacer.ts).
  const stopPacing = paceGarbage();
  const report = await rollout({
    config,
    repo: settings.repo,
    to: settings.to,
    command,
    targets: settings.targets,
    dryRun: settings.dryRun,
    dir: settings.dir,
    releaseName: settings.releaseName,
    fromManifest: settings.fromManifest,
    assumeEmpty: settings.assumeEmpty,
    signal: io.signal,
    log: io.log,
    onEvent: io.onEvent,
  }).finally(stopPacing);
  return { kind: 'report', report };
}
