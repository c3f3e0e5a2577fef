/**
 * The `ssh-private-key` and `ssh-known-hosts` inputs are defaults for ssh
 * targets. They are handed to the engine in memory (SshOptions.privateKey /
 * knownHosts hold text, not paths), so no key file is ever written.
 */
import type { ResolvedConfig } from '../config/types.js';

export interface SshDefaults {
  privateKey?: string;
  knownHosts?: string;
}

/**
 * A copy of `config` where every ssh target that sets no key (`identity-file`
 * or `private-key`) gets `privateKey`, and every one that sets no `known-hosts`
 * gets `knownHosts`. Targets that set their own keep them. Both values join
 * `config.secrets`, so the engine's logger masks them too.
 *
 * @example withSshDefaults(config, { privateKey: process.env.KEY })
 */
export function withSshDefaults(config: ResolvedConfig, defaults: SshDefaults): ResolvedConfig {
  const { privateKey, knownHosts } = defaults;
  if (!privateKey && !knownHosts) return config;
  const targets = config.targets.map((target) => {
    if (target.type !== 'ssh' || !target.ssh) return target;
    const ssh = { ...target.ssh };
    if (privateKey && !ssh.identityFile && !ssh.privateKey) ssh.privateKey = privateKey;
    if (knownHosts && !ssh.knownHosts) ssh.knownHosts = knownHosts;
    return { ...target, ssh };
  });
  const secrets = [...config.secrets];
  for (const value of [privateKey, knownHosts]) if (value && !secrets.includes(value)) secrets.push(value);
  return { ...config, targets, secrets };
}
