import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigValidationError } from '../../src/config/problems.js';
import type { ResolvedConfig } from '../../src/config/types.js';

const dirs: string[] = [];

/** A fresh temp folder, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-config-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

/** A minimal environment, so tests never depend on the machine's. */
export function testEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { HOME: home, USER: 'tester', ...extra };
}

/** Write `text` as diffship.yml in a new temp folder and load it. */
export async function loadText(
  text: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ config: ResolvedConfig; dir: string; home: string }> {
  const dir = await tempDir();
  const home = path.join(dir, 'home');
  await fs.mkdir(home);
  await fs.writeFile(path.join(dir, 'diffship.yml'), text);
  const config = await loadConfig(path.join(dir, 'diffship.yml'), { env: env ?? testEnv(home) });
  return { config, dir, home };
}

/** The problems (`path: message`, no line) a config text is refused with; fails if it loads. */
export async function problemsOf(text: string, env?: NodeJS.ProcessEnv): Promise<string[]> {
  try {
    await loadText(text, env);
  } catch (error) {
    if (error instanceof ConfigValidationError)
      return error.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
    throw error;
  }
  throw new Error('expected the config to be refused, but it loaded');
}
