/** Start the example package server (examples/package-host/server.mjs) as a real child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const PACKAGE_SERVER = path.resolve(here, '../../examples/package-host/server.mjs');
export const PACKAGE_CTL = path.resolve(here, '../../examples/package-host/ctl.mjs');

export interface PackageHost {
  port: number;
  url: string;
  child: ChildProcess;
  json<T = unknown>(pathname: string): Promise<T>;
  /** The server's log of calls and loads: `call reload Orders`, `load Orders yes`. */
  events(): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startPackageHost(dir: string, args: string[] = []): Promise<PackageHost> {
  const child = spawn(process.execPath, [PACKAGE_SERVER, '--dir', dir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /listening on http:\/\/[\d.]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => reject(new Error(`package server exited ${code}: ${out}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const json = async <T>(p: string): Promise<T> => (await (await fetch(url + p)).json()) as T;
  return {
    port,
    url,
    child,
    json,
    async events() {
      const log =
        await json<Array<{ event: string; action?: string; package: string; loaded?: string }>>('/admin/log');
      return log.map((e) =>
        e.event === 'call' ? `call ${e.action} ${e.package}` : `load ${e.package} ${e.loaded}`,
      );
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** A manifest.v3 as IS writes it. */
export function manifest(version: string, requires: string[] = []): string {
  const req =
    requires.length === 0
      ? '  <null name="requires"/>\n'
      : `  <record name="requires" javaclass="com.wm.util.Values">\n${requires
          .map((r) => `    <value name="${r}">*.*</value>\n`)
          .join('')}  </record>\n`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n\n<Values version="2.0">\n  <value name="enabled">yes</value>\n  <value name="version">${version}</value>\n${req}</Values>\n`;
}
