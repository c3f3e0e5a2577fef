import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { ConfigError, exitCodeFor } from '../../src/errors.js';
import { tempDir } from './helpers.js';

async function writeConfig(text: string): Promise<string> {
  const dir = await tempDir();
  const file = path.join(dir, 'diffship.yml');
  await fs.writeFile(file, text);
  return file;
}

describe('loadConfig', () => {
  it('says where a missing config file was looked for and how to point at another', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'diffship.yml');
    const error = await loadConfig(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      `diffship.yml not found at ${file} — create it or pass --config <file>`,
    );
    expect(exitCodeFor(error)).toBe(2);
  });

  it('refuses a folder as the config file', async () => {
    const dir = await tempDir();
    await expect(loadConfig(dir)).rejects.toThrow(`${dir} is a folder — pass --config <file>`);
  });

  it.each([
    ['bad indentation', 'targets:\n  - name: a\n   path: b\n', 3],
    ['an unclosed flow mapping', 'mode: additive\ntargets: [{ name: a, path: b ]\n', 2],
    ['a tab for indentation', 'targets:\n\t- name: a\n', 2],
    ['a duplicate key', 'mode: additive\nmode: authoritative\ntargets: []\n', 2, 1],
  ])(
    'gives file:line:col and one line for a YAML syntax error: %s',
    async (_label, text, line, col?: number) => {
      const file = await writeConfig(text);
      const error = await loadConfig(file, { env: {} }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toMatch(
        new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}:${col ?? '\\d+'}: \\S`),
      );
      expect(message).not.toContain('\n');
      expect((error as ConfigError).code).toBe('E_CONFIG');
    },
  );

  it('refuses several YAML documents in one file', async () => {
    const file = await writeConfig('targets: []\n---\ntargets: []\n');
    await expect(loadConfig(file, { env: {} })).rejects.toThrow(
      /:2:1: more than one YAML document: a config file holds one \(remove the "---" line\)$/,
    );
  });

  it('accepts anchors and merge keys to share blocks between targets', async () => {
    const file = await writeConfig(`
x-common: &common
  type: local
  labels: [eu]
targets:
  - <<: *common
    name: a
    path: ./a
`);
    // Unknown top-level keys are still errors, even as anchor holders.
    await expect(loadConfig(file, { env: {} })).rejects.toThrow('x-common: unknown key');
    const ok = await writeConfig(`
targets:
  - &a { name: a, path: ./a, labels: [eu], vars: { port: 1 } }
  - <<: *a
    name: b
    path: ./b
`);
    const config = await loadConfig(ok, { env: {} });
    expect(config.targets.map((t) => [t.name, t.labels, t.vars])).toEqual([
      ['a', ['eu'], { port: '1' }],
      ['b', ['eu'], { port: '1' }],
    ]);
  });

  it('refuses an alias bomb', async () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const file = await writeConfig(`${lines.join('\n')}\ntargets: []\n`);
    await expect(loadConfig(file, { env: {} })).rejects.toThrow(ConfigError);
  });

  it('applies overrides after validation', async () => {
    const file = await writeConfig('targets: [{ name: a, path: ./a }]\n');
    const config = await loadConfig(file, { env: {}, overrides: { mode: 'authoritative', waves: '2,50%' } });
    expect(config.mode).toBe('authoritative');
    expect(config.waves).toEqual([{ count: 2 }, { percent: 50 }]);
  });

  it('reads the environment it is given, not process.env', async () => {
    const file = await writeConfig('targets: [{ name: a, path: "./${DIR}" }]\n');
    const config = await loadConfig(file, { env: { DIR: 'from-option' } });
    expect(config.targets[0]!.path).toBe(path.join(path.dirname(file), 'from-option'));
  });
});

describe('parseConfigText', () => {
  it('locates key paths, pointing at the key of a mapping entry', () => {
    const { value, locate } = parseConfigText('mode: additive\ntargets:\n  - name: a\n    path: b\n');
    expect(value).toEqual({ mode: 'additive', targets: [{ name: 'a', path: 'b' }] });
    expect(locate(['targets', 0, 'path'])).toEqual({ line: 4, column: 5 });
    // A missing key points at the closest thing that exists.
    expect(locate(['targets', 0, 'host'])).toEqual({ line: 3, column: 5 });
    expect(locate(['mode'])).toEqual({ line: 1, column: 1 });
  });
});
