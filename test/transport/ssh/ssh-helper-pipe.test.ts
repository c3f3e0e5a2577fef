/**
 * The file helper, started by a real OpenSSH sshd on loopback, asks Linux for
 * a 1 MiB stdin pipe (sshd's default is 64 KiB), so a big file reaches it in
 * bigger reads. Read back from the running helper's own pipe (F_GETPIPE_SZ).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { noise, sourceOf } from '../conformance.js';

let sshd: Sshd;
let base: string;

beforeAll(async () => {
  sshd = await startSshd();
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-ssh-pipe-'));
});
afterAll(async () => {
  await sshd?.stop();
  await fs.rm(base, { recursive: true, force: true });
});

/** Pids of the file helpers (perl, run with the helper's script) working in `root`. */
async function helpersIn(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.startsWith('perl\0-e\0') || !cmdline.includes('NOFOLLOW')) continue;
      if ((await fs.readlink(`/proc/${pid}/cwd`)) === root) found.push(pid);
    } catch {
      // ended meanwhile, or not ours to read
    }
  }
  return found;
}

/** The size of the pipe that is `pid`'s stdin (F_GETPIPE_SZ, 1032), opened without blocking or reading. */
function stdinPipeSize(pid: string): number {
  const script =
    'use Fcntl; sysopen(my $f, $ARGV[0], O_RDONLY | O_NONBLOCK) or die "$!"; print fcntl($f, 1032, 0) // die "$!"';
  return Number(execFileSync('perl', ['-e', script, `/proc/${pid}/fd/0`], { encoding: 'utf8' }));
}

it.runIf(process.platform === 'linux')('the helper reads its stdin through a 1 MiB pipe', async () => {
  const root = await fs.realpath(await fs.mkdtemp(path.join(base, 't')));
  const t = new SshTransport(sshd.sshOptions(), root, undefined, { bulkOps: true });
  await t.connect();
  try {
    const big = noise(3 * 1024 * 1024 + 1, 7);
    await t.writeStream('big.bin', sourceOf(big), 0o644);
    expect((await fs.readFile(path.join(root, 'big.bin'))).equals(big)).toBe(true);
    const pids = await helpersIn(root);
    expect(pids.length).toBeGreaterThan(0);
    // (Linux's default /proc/sys/fs/pipe-max-size is 1 MiB.)
    for (const pid of pids) expect(stdinPipeSize(pid)).toBe(1 << 20);
  } finally {
    await t.close();
  }
});
