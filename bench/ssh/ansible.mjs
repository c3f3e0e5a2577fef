#!/usr/bin/env node
// Benchmark: a fleet of SSH targets, `diffship deploy` against the Ansible playbook a team
// would write for the same rollout: `serial: [1, "100%"]` (a canary, then the rest), `forks`
// P, `gather_facts: false`, one `ansible.posix.synchronize` task (rsync under the hood, the
// module Ansible users reach for to ship a folder; `ansible.builtin.copy` of 2,000 files takes
// minutes). Run `npm run build` first; needs `ansible` (Debian: `apt-get install ansible`).
//
//   npx node bench/ssh/ansible.mjs [--runs 5] [--targets 8] [--parallel 4]
//
// The fleet: N folders on this machine's one OpenSSH sshd (bench/ssh/sshd.mjs), each a host
// of its own for both tools: diffship opens a connection per target; Ansible gets a control
// socket per host (its default ControlMaster/ControlPersist, in a folder new for each run, so
// no run finds a connection the one before left open, as a CI job would not).
// diffship: `waves: [1, "100%"]`, `max-parallel` P, no hooks or checks, its defaults
// otherwise (preflight, lock, backup, journal, durable writes, state).
//
// 1. first deploy of release A (2,000 files of 4 KiB, bench/ssh/release.mjs) into N empty
//    folders; 2. update to B (100 files changed) of those folders. Runs alternate (which tool
//    goes first too); medians. After every timed run every target of that side is compared
//    with the release file by file: a side that did less than the whole job fails the bench.
// No sync anchor here: neither Ansible nor rsync makes the files durable; diffship does.
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { assertTree, cli, median, ratio, requireBuild, run, timeOnce } from '../lib.mjs';
import { startSshd } from './sshd.mjs';
import { sshRelease } from './release.mjs';

requireBuild('bench/ssh/ansible');
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const RUNS = option('--runs', 5);
const TARGETS = option('--targets', 8);
const PARALLEL = option('--parallel', 4);
const FILES = option('--files', 2_000);

const playbookBin = spawnSync('ansible-playbook', ['--version'], { encoding: 'utf8' });
if (playbookBin.status !== 0) {
  console.error('bench/ssh/ansible: ansible-playbook not found (Debian: apt-get install ansible)');
  process.exit(2);
}
const ansibleVersion = playbookBin.stdout.split('\n')[0];

const { base, co, wt, releaseA, releaseB, switchBoth } = sshRelease(FILES);
const sshd = await startSshd();
const work = path.join(base, 'ansible-work');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

const names = Array.from({ length: TARGETS }, (_, i) => `t${String(i).padStart(2, '0')}`);
let round = '';
const folderOf = (tool, name) => path.join(work, `${tool}-${round}`, name);

/** diffship.yml for this round's folders (their parents made, as a fleet's would be there). */
function writeConfig() {
  for (const tool of ['diffship', 'ansible'])
    mkdirSync(path.dirname(folderOf(tool, 'x')), { recursive: true });
  const lines = ['waves: [1, "100%"]', `max-parallel: ${PARALLEL}`, 'targets:'];
  for (const name of names)
    lines.push(
      `  - name: ${name}`,
      '    type: ssh',
      '    host: 127.0.0.1',
      `    port: ${sshd.port}`,
      `    user: ${sshd.user}`,
      `    path: ${folderOf('diffship', name)}`,
      `    identity-file: ${sshd.identityFile}`,
      `    known-hosts: ${sshd.knownHostsFile}`,
    );
  writeFileSync(path.join(work, 'diffship.yml'), `${lines.join('\n')}\n`);
}

/** The inventory and playbook for this round's folders; `controls`: this run's control sockets. */
function writeAnsible(controls) {
  const hosts = names.map((name) =>
    [
      name,
      'ansible_host=127.0.0.1',
      `ansible_port=${sshd.port}`,
      `ansible_user=${sshd.user}`,
      `ansible_ssh_private_key_file=${sshd.identityFile}`,
      // A control socket per host, as N machines would have (one path would share one connection).
      `ansible_ssh_common_args='-o UserKnownHostsFile=${sshd.knownHostsFile} -o StrictHostKeyChecking=yes -o ControlPath=${controls}/${name}'`,
      `dest=${folderOf('ansible', name)}`,
    ].join(' '),
  );
  writeFileSync(path.join(work, 'inventory.ini'), `[fleet]\n${hosts.join('\n')}\n`);
  writeFileSync(
    path.join(work, 'deploy.yml'),
    [
      '- hosts: fleet',
      '  gather_facts: false',
      '  serial: [1, "100%"]',
      '  tasks:',
      '    - name: ship the release',
      '      ansible.posix.synchronize:',
      `        src: ${co}/`,
      '        dest: "{{ dest }}/"',
      '        archive: true',
      '        delete: false',
      '',
    ].join('\n'),
  );
}

const ds = (to) => [
  process.execPath,
  [cli, 'deploy', '--to', to, '--repo', wt, '--no-progress'],
  { cwd: work },
];
const ansible = () => {
  const controls = mkdtempSync(path.join(os.tmpdir(), 'diffship-bench-ansible-cp-'));
  writeAnsible(controls);
  return [
    'ansible-playbook',
    ['-i', 'inventory.ini', '-f', String(PARALLEL), 'deploy.yml'],
    {
      cwd: work,
      env: {
        ...process.env,
        ANSIBLE_HOST_KEY_CHECKING: 'True',
        ANSIBLE_RETRY_FILES_ENABLED: 'False',
        ANSIBLE_NOCOLOR: '1',
        ANSIBLE_LOCAL_TEMP: path.join(controls, 'tmp'),
      },
    },
    controls,
  ];
};
const timeAnsible = () => {
  const [cmd, argv, options, controls] = ansible();
  try {
    const start = process.hrtime.bigint();
    const r = spawnSync(cmd, argv, { ...options, encoding: 'utf8', maxBuffer: 1 << 26 });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    // Ansible says what failed on stdout.
    if (r.status !== 0)
      throw new Error(`ansible-playbook failed (${r.status}):\n${r.stdout.slice(-3000)}${r.stderr}`);
    return ms;
  } finally {
    // Ends this run's control masters (ControlPersist keeps them 60 s), then their folder.
    for (const name of names)
      spawnSync('ssh', ['-o', `ControlPath=${controls}/${name}`, '-O', 'exit', 'x'], { stdio: 'ignore' });
    rmSync(controls, { recursive: true, force: true });
  }
};
const checkFleet = (label, tool, expected) => {
  for (const name of names) assertTree(`${label}, ${tool}, ${name}`, folderOf(tool, name), expected);
};

try {
  // Warm-up, untimed: the page cache, the CLI's compile cache, Ansible's collections.
  round = 'warm';
  writeConfig();
  run(...ds('A'));
  timeAnsible();
  checkFleet('warm-up', 'ansible', releaseA);
  const first = { diffship: [], ansible: [] };
  const update = { diffship: [], ansible: [] };
  for (let r = 0; r < RUNS; r++) {
    round = String(r);
    writeConfig();
    const order = r % 2 === 0 ? ['ansible', 'diffship'] : ['diffship', 'ansible'];
    for (const tool of order) {
      run('sync', []);
      first[tool].push(tool === 'ansible' ? timeAnsible() : timeOnce(...ds('A')));
      checkFleet('first deploy', tool, releaseA);
    }
    switchBoth('A', 'B');
    for (const tool of order) {
      run('sync', []);
      update[tool].push(tool === 'ansible' ? timeAnsible() : timeOnce(...ds('B')));
      checkFleet('update', tool, releaseB);
    }
    switchBoth('B', 'A');
    rmSync(path.join(work, `diffship-${round}`), { recursive: true, force: true });
    rmSync(path.join(work, `ansible-${round}`), { recursive: true, force: true });
  }
  const line = (label, c) => {
    const [d, a] = [median(c.diffship), median(c.ansible)];
    return `${label}: diffship ${d.toFixed(0)} ms [${Math.min(...c.diffship).toFixed(0)}–${Math.max(...c.diffship).toFixed(0)}], ansible-playbook ${a.toFixed(0)} ms [${Math.min(...c.ansible).toFixed(0)}–${Math.max(...c.ansible).toFixed(0)}], ratio ${ratio(d, a)}×`;
  };
  console.log(
    [
      `ssh fleet benchmark — ${TARGETS} targets on one OpenSSH sshd on 127.0.0.1, waves [1, 100%], ${PARALLEL} at once, ${RUNS} runs each, median wall time (${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)}, node ${process.version}, ${ansibleVersion})`,
      line(`first deploy (${FILES} files of 4 KiB each)`, first),
      line('update (100 changed files each)', update),
    ].join('\n'),
  );
} finally {
  await sshd.stop();
  rmSync(work, { recursive: true, force: true });
}
