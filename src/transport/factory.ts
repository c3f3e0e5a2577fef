import type { TargetConfig } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { LocalTransport } from './local/local-transport.js';
import { SshTransport } from './ssh/ssh-transport.js';
import type { Transport } from './transport.js';

/**
 * The Transport for a target: one implementation per target type (the
 * setup-node factory pattern). Nothing is opened until `connect()`.
 *
 * @example
 * const t = createTransport(config.targets[0], log);
 * await t.connect();
 */
export function createTransport(target: TargetConfig, log: Logger = silentLogger): Transport {
  switch (target.type) {
    case 'local':
      return new LocalTransport(target.path, log);
    case 'ssh':
      if (!target.ssh) throw new ConfigError(`targets.${target.name}: an ssh target needs host and user`);
      return new SshTransport(target.ssh, target.path, log);
    default:
      throw new ConfigError(
        `targets.${target.name}.type: expected local or ssh, got ${JSON.stringify((target as { type: unknown }).type)}`,
      );
  }
}
