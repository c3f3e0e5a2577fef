/**
 * Both spawn helpers speak one protocol (spawner-script.ts): the system's Python
 * (spawner-python.ts, posix_spawn) and perl (fork). spawner.test.ts runs whichever
 * one this machine picks; here each is driven directly, so the other is tested too.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SPAWNER_PYTHON } from '../../../src/transport/local/spawner-python.js';
import { SPAWNER_SCRIPT } from '../../../src/transport/local/spawner-script.js';

const hex = (s: string) => Buffer.from(s).toString('hex');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'diffship-helpers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Run one command through a helper: its messages until F, or until X and both ends (O's decoded). */
async function runThrough(
  argv: string[],
  cwd: string,
  command: string,
  env: string[] = [],
): Promise<string[]> {
  const proc = spawn(argv[0]!, argv.slice(1), {
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { PATH: '/usr/bin:/bin' },
  });
  const lines: string[] = [];
  let pending = '';
  const done = new Promise<void>((resolve) => {
    proc.stdout.setEncoding('latin1');
    proc.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const line of parts) {
        const [kind, , stream, bytes] = line.split(' ');
        lines.push(kind === 'O' ? `O ${stream} ${Buffer.from(bytes!, 'hex').toString()}` : line);
        // Done at F, or at X with both ends (an end may come after the exit).
        const seen = (m: string) => lines.some((l) => l.startsWith(m));
        if (seen('F ') || (seen('X ') && seen('E 7 1') && seen('E 7 2'))) resolve();
      }
    });
  });
  proc.stdin.write(`R 7 ${hex(cwd)} ${hex(command)} ${hex(['PATH=/usr/bin:/bin', ...env].join('\0'))} -\n`);
  await done;
  proc.stdin.end();
  return lines.filter((l) => !l.startsWith('O ') || l.length > 4);
}

const helpers: Array<[string, string[], boolean]> = [
  [
    'python',
    ['/usr/bin/python3', '-I', '-S', '-c', SPAWNER_PYTHON, SPAWNER_SCRIPT],
    existsSync('/usr/bin/python3'),
  ],
  ['perl', ['perl', '-e', SPAWNER_SCRIPT], true],
];

describe.each(helpers)('the %s spawn helper', (_name, argv, present) => {
  it.skipIf(!present)(
    'starts /bin/sh -c in cwd with exactly its environment; output, ends and exit code',
    async () => {
      const lines = await runThrough(argv, tmp, 'echo "$(pwd) $OWN ${LC_ALL:-none}"; echo err >&2; exit 3', [
        'OWN=mine',
      ]);
      expect(lines[0]).toMatch(/^P 7 \d+$/);
      expect(lines).toContain(`O 1 ${tmp} mine none\n`);
      expect(lines).toContain('O 2 err\n');
      // X may come before output still in a pipe: the ends and the exit, in whichever order.
      expect(lines.filter((l) => /^[EX] /.test(l)).sort()).toEqual(['E 7 1', 'E 7 2', 'X 7 3 -']);
    },
  );

  it.skipIf(!present)(
    'its own session and group, stdin /dev/null, SIGPIPE and SIGXFSZ not ignored, no signal blocked',
    async () => {
      const lines = await runThrough(
        argv,
        tmp,
        'ps -o pid=,pgid=,sid= -p $$; readlink /proc/self/fd/0; grep -E "^Sig(Ign|Blk)" /proc/self/status',
      );
      const pid = /^P 7 (\d+)$/.exec(lines[0]!)![1];
      const text = lines
        .filter((l) => l.startsWith('O 1 '))
        .map((l) => l.slice(4))
        .join('');
      const [ids, stdin, ...masks] = text.trim().split('\n');
      const mask = (name: string) => BigInt(`0x${masks.find((m) => m.startsWith(name))!.split(/\s+/)[1]}`);
      expect(ids!.trim().split(/\s+/)).toEqual([pid, pid, pid]);
      expect(stdin).toBe('/dev/null');
      for (const signal of [os.constants.signals.SIGPIPE, os.constants.signals.SIGXFSZ])
        expect(mask('SigIgn') & (1n << BigInt(signal - 1))).toBe(0n);
      expect(mask('SigBlk')).toBe(0n);
    },
  );

  it.skipIf(!present)('a shell killed by a signal, and a folder that is not there', async () => {
    expect(await runThrough(argv, tmp, 'kill -TERM $$')).toContain(`X 7 - ${os.constants.signals.SIGTERM}`);
    const missing = await runThrough(argv, path.join(tmp, 'nope'), 'true');
    expect(missing).toContain(`F 7 ${os.constants.errno.ENOENT}`);
    expect(missing.filter((l) => l.startsWith('X '))).toEqual([]);
  });
});

it.skipIf(!existsSync('/usr/bin/python3'))(
  'a Python without posix_spawn hands its pipes to the perl helper before reading a byte',
  async () => {
    // The same script, on a Python whose os has no posix_spawn (as before 3.8).
    const script = `import os\ndel os.posix_spawn\n${SPAWNER_PYTHON}`;
    const lines = await runThrough(
      ['/usr/bin/python3', '-I', '-S', '-c', script, SPAWNER_SCRIPT],
      tmp,
      'cat /proc/$PPID/comm',
    );
    expect(lines).toContain('O 1 perl\n');
    expect(lines).toContain('X 7 0 -');
  },
);

describe.each(helpers)('the %s spawn helper, a shell ending', (_name, argv, present) => {
  // The shell closes its pipes one after the other as it exits: the helper may wake at the
  // first end and reap the exit before reading the second. What is ready by then goes out
  // before the X, so a short command costs Node one read (spawner.test.ts counts the writes).
  it.skipIf(!present)('sends both ends before the exit when the shell has closed them', async () => {
    const proc = spawn(argv[0]!, argv.slice(1), {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { PATH: '/usr/bin:/bin' },
    });
    const lines: string[] = [];
    let pending = '';
    let wake = () => {};
    proc.stdout.setEncoding('latin1');
    proc.stdout.on('data', (chunk: string) => {
      const parts = (pending + chunk).split('\n');
      pending = parts.pop()!;
      lines.push(...parts);
      wake();
    });
    const ended = (id: number) =>
      lines.some((l) => l.startsWith(`X ${id} `)) &&
      [1, 2].every((what) => lines.includes(`E ${id} ${what}`));
    const orders: string[] = [];
    // Stdout closed first, then the exit (and stderr with it) at once: the race, 150 times.
    for (let id = 1; id <= 150; id++) {
      const from = lines.length;
      proc.stdin.write(`R ${id} ${hex(tmp)} ${hex('exec >&-; exit 3')} ${hex('PATH=/usr/bin:/bin')} -\n`);
      while (!ended(id)) await new Promise<void>((resolve) => (wake = resolve));
      orders.push(
        lines
          .slice(from)
          .filter((l) => /^[EX] /.test(l))
          .join(','),
      );
    }
    proc.stdin.end();
    // Both ends (perl reads its pipes in hash order) and then the exit.
    const late = orders.filter((o, i) => {
      const ends = [`E ${i + 1} 1`, `E ${i + 1} 2`];
      return ![[...ends], ends.reverse()].some((e) => o === `${e.join(',')},X ${i + 1} 3 -`);
    });
    expect(late).toEqual([]);
  });
});
