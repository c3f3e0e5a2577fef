/**
 * An sshd whose remote shell can be made to stall, as a login rc file blocked
 * on a lock does: while the switch is on, every new exec session (commands,
 * the file helper, kills) sleeps before it runs its command; the SFTP
 * subsystem only when asked (a bash rc file stalls it too: sshd starts it
 * through the login shell). The stall is a real process on the host
 * (ForceCommand runs a wrapper that sleeps), so the client sees what it sees
 * on such a host: channels that open and then say nothing.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startSshd, type Sshd } from './sshd.js';

export interface StallingSshd extends Sshd {
  /**
   * Make every new exec session (and, with `sftp`, every new SFTP session; with `sftp: 'only'`,
   * only those) sleep `seconds` first.
   */
  stall(seconds: number, options?: { sftp?: boolean | 'only' }): void;
  /** New exec sessions run at once again (sessions already sleeping keep sleeping). */
  unstall(): void;
  /** How many exec sessions have started stalling so far. */
  stalledSessions(): number;
}

export async function startStallingSshd(config: string[] = []): Promise<StallingSshd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'diffship-stall-'));
  const wrapper = path.join(dir, 'session.sh');
  const flag = path.join(dir, 'stall-seconds');
  const stalled = path.join(dir, 'stalled');
  const sftpFlag = path.join(dir, 'stall-sftp-seconds');
  writeFileSync(
    wrapper,
    [
      // The SFTP subsystem is forced through here too: never delayed.
      `case "$SSH_ORIGINAL_COMMAND" in *sftp-server*|internal-sftp) if [ -s '${sftpFlag}' ]; then echo $$ >> '${stalled}'; sleep "$(cat '${sftpFlag}')"; fi; exec $SSH_ORIGINAL_COMMAND;; esac`,
      `if [ -s '${flag}' ]; then echo $$ >> '${stalled}'; sleep "$(cat '${flag}')"; fi`,
      'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"',
      '',
    ].join('\n'),
  );
  chmodSync(wrapper, 0o755);
  const sshd = await startSshd({ config: [...config, `ForceCommand /bin/sh ${wrapper}`] });
  return {
    ...sshd,
    stall: (seconds, options = {}) => {
      if (options.sftp === 'only') rmSync(flag, { force: true });
      else writeFileSync(flag, String(seconds));
      if (options.sftp) writeFileSync(sftpFlag, String(seconds));
      else rmSync(sftpFlag, { force: true });
    },
    unstall: () => {
      rmSync(flag, { force: true });
      rmSync(sftpFlag, { force: true });
    },
    stalledSessions: () =>
      existsSync(stalled) ? readFileSync(stalled, 'utf8').split('\n').filter(Boolean).length : 0,
    async stop() {
      await sshd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
