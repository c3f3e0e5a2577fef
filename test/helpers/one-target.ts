/**
 * A workspace with one target `t` (a local folder, or the same folder through
 * a real sshd) and a diffship.yml holding `config`, for tests that run the
 * built CLI against one target.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './cli.js';
import { tempDir } from './git.js';
import { sshTargetYaml, type Sshd } from './sshd.js';

export function oneTarget(side: 'local' | 'ssh', sshd: Sshd | undefined, repoDir: string, config: string[]) {
  const ws = tempDir(`diffship-one-${side}-`);
  const targetDir = join(ws, 'target');
  const target = side === 'local' ? ['  - { name: t, path: target }'] : sshTargetYaml(sshd!, targetDir, 't');
  writeFileSync(join(ws, 'diffship.yml'), [...config, 'targets:', ...target, ''].join('\n'));
  const deploy = (to: string, ...extra: string[]) =>
    cli(ws, ['deploy', '--repo', repoDir, '--to', to, '--no-progress', ...extra]);
  const stateText = () => readFileSync(join(targetDir, '.diffship/state.json'), 'utf8');
  return { ws, targetDir, deploy, stateText };
}
