/**
 * The demo's package step (docs/units.md): a webMethods-like package server
 * (examples/package-host/server.mjs) and three releases of five packages.
 * p1 installs all five in dependency order; p2 changes two, Billing depending on
 * Orders, and only those two are reloaded, Orders first; p3 updates Customers and
 * breaks Reports, which loads `partial` and is rolled back by itself: its old files
 * come back and load again, while Customers 1.1 stays deployed and loaded (the
 * target records Reports as held back). The server's own log of calls is the
 * narration's evidence.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.js';
import { runGit } from '../diff/git.js';
import type { Report } from '../report/types.js';

const PACKAGE_HOST = fileURLToPath(new URL('../../examples/package-host/', import.meta.url));
const DEPS: Record<string, string[]> = {
  Common: [],
  Customers: ['Common'],
  Orders: ['Common'],
  Billing: ['Orders'],
  Reports: [],
};

function manifest(version: string, requires: string[]): string {
  const req = requires.length
    ? `  <record name="requires" javaclass="com.wm.util.Values">\n${requires.map((r) => `    <value name="${r}">*.*</value>\n`).join('')}  </record>\n`
    : '  <null name="requires"/>\n';
  return `<?xml version="1.0" encoding="UTF-8"?>\n\n<Values version="2.0">\n  <value name="version">${version}</value>\n${req}</Values>\n`;
}

const RELEASES: Array<{ tag: string; summary: string; versions: Record<string, string>; broken?: string }> = [
  { tag: 'p1', summary: 'five packages, 1.0', versions: {} },
  {
    tag: 'p2',
    summary: 'Orders 1.1 and Billing 1.1 (Billing requires Orders)',
    versions: { Orders: '1.1', Billing: '1.1' },
  },
  {
    tag: 'p3',
    summary: 'Customers 1.1, and Reports 2.0 with a broken service',
    versions: { Orders: '1.1', Billing: '1.1', Customers: '1.1', Reports: '2.0' },
    broken: 'Reports',
  },
];

async function buildRepo(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const git = (...args: string[]) =>
    runGit(dir, ['-c', 'user.name=demo', '-c', 'user.email=demo@example.invalid', ...args]);
  await git('-c', 'init.defaultBranch=main', 'init', '-q');
  for (const r of RELEASES) {
    await rm(path.join(dir, 'packages'), { recursive: true, force: true });
    for (const [name, requires] of Object.entries(DEPS)) {
      const pkg = path.join(dir, 'packages', name);
      await mkdir(path.join(pkg, 'ns'), { recursive: true });
      await writeFile(path.join(pkg, 'manifest.v3'), manifest(r.versions[name] ?? '1.0', requires));
      await writeFile(path.join(pkg, 'ns', 'main.json'), `{"service":"${name}.main"}\n`);
      await writeFile(
        path.join(pkg, 'ns', 'svc.json'),
        r.broken === name
          ? '{"service": broken\n'
          : `{"service":"${name}.svc","v":"${r.versions[name] ?? '1.0'}"}\n`,
      );
    }
    await git('add', '-A', 'packages');
    await git('commit', '-q', '--no-verify', '-m', `release ${r.tag}: ${r.summary}`);
    await git('tag', r.tag);
  }
}

async function startServer(dir: string, log: string): Promise<{ child: ChildProcess; port: number }> {
  await mkdir(dir, { recursive: true });
  const child = spawn(
    process.execPath,
    [path.join(PACKAGE_HOST, 'server.mjs'), '--dir', dir, '--no-cascade', '--log', log, '--name', 'is-1'],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on http:\/\/[\d.]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the package server exited (${code})`)));
  });
  return { child, port };
}

export interface PackageStepContext {
  dir: string;
  say(text?: string): void;
  ok(text: string): string;
  deploy(release: string, config: Awaited<ReturnType<typeof loadConfig>>, repo: string): Promise<Report>;
  problems: string[];
  env: NodeJS.ProcessEnv;
}

/** Run the package step; problems go to `ctx.problems`. */
export async function runPackageStep(ctx: PackageStepContext): Promise<void> {
  const { dir, say } = ctx;
  const repo = path.join(dir, 'packages-repo');
  await buildRepo(repo);
  for (const r of RELEASES) say(`  ${r.tag}  ${r.summary}`);
  const server = await startServer(
    path.join(dir, 'hosts', 'is-1'),
    path.join(dir, 'logs', 'is-1-calls.jsonl'),
  );
  try {
    const url = `http://127.0.0.1:${server.port}`;
    const calls = async (): Promise<string[]> => {
      const log = (await (await fetch(`${url}/admin/log`)).json()) as Array<{
        event: string;
        action?: string;
        package: string;
        loaded?: string;
      }>;
      return log.map((e) =>
        e.event === 'call' ? `${e.action} ${e.package}` : `  → ${e.package} loaded ${e.loaded}`,
      );
    };
    const ctl = `"${process.execPath}" "${path.join(PACKAGE_HOST, 'ctl.mjs')}" --url ${url}`;
    const configFile = path.join(dir, 'packages.yml');
    await writePackagesConfig(configFile, ctl, url);
    const config = await loadConfig(configFile, { env: ctx.env });
    const expectations: Array<{ tag: string; calls: string[]; status: Report['status'] }> = [
      {
        tag: 'p1',
        status: 'succeeded',
        calls: ['reload Common', 'reload Customers', 'reload Orders', 'reload Billing', 'reload Reports'],
      },
      { tag: 'p2', status: 'succeeded', calls: ['reload Orders', 'reload Billing'] },
      { tag: 'p3', status: 'failed', calls: ['reload Customers', 'reload Reports', 'reload Reports'] },
    ];
    for (const e of expectations) {
      const before = (await calls()).length;
      const report = await ctx.deploy(e.tag, config, repo);
      const made = (await calls()).slice(before);
      say('The package server logged:');
      for (const line of made) say(`    ${line}`);
      const got = made.filter((l) => !l.startsWith(' '));
      if (report.status !== e.status)
        ctx.problems.push(`${e.tag}: expected the deploy ${e.status}, got ${report.status}`);
      if (JSON.stringify(got) !== JSON.stringify(e.calls))
        ctx.problems.push(
          `${e.tag}: expected the calls ${e.calls.join(', ')}; the server logged ${got.join(', ')}`,
        );
    }
    const pkg = async (name: string) =>
      (await (await fetch(`${url}/admin/package/${name}`)).json()) as { loaded: string; version: string };
    const reports = await pkg('Reports');
    const customers = await pkg('Customers');
    if (reports.loaded !== 'yes' || reports.version !== '1.0')
      ctx.problems.push(
        `Reports: expected loaded yes at 1.0 after its rollback, found ${reports.loaded} at ${reports.version}`,
      );
    else if (customers.loaded !== 'yes' || customers.version !== '1.1')
      ctx.problems.push(
        `Customers: expected loaded yes at 1.1 (only Reports goes back), found ${customers.loaded} at ${customers.version}`,
      );
    else {
      // Short lines: the narration fits an 80-column terminal.
      say(ctx.ok('→ Reports loaded partial and was rolled back by itself: its 1.0 files'));
      say(ctx.ok('  came back, reloaded and verified; Customers 1.1 stays deployed and'));
      say(ctx.ok('  loaded, and the target records Reports as held back. Orders and'));
      say(ctx.ok('  Billing were reloaded once, in order.'));
    }
  } finally {
    server.child.kill('SIGTERM');
    if (server.child.exitCode === null) await once(server.child, 'exit');
  }
}

/** The demo's packages.yml: one package server, units in dependency order, revealed whole. */
async function writePackagesConfig(configFile: string, ctl: string, url: string): Promise<void> {
  await writeFile(
    configFile,
    `# Written by \`diffship demo\`: packages deployed, reloaded and checked one by one (docs/units.md).
mode: authoritative
units:
  match: 'packages/*'          # each package folder is a unit
  depends: webmethods          # order from each manifest.v3 <record name="requires">
  reveal: unit                 # a package folder is swapped in whole
  activate: { run: '${ctl} reload {unit}', timeout: 30s }
  verify:
    - http: { url: '${url}/admin/package/{unit}', contains: '"loaded":"yes"', timeout: 2s, interval: 200ms }
targets:
  - { name: is-1, path: hosts/is-1 }
`,
  );
}
