import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configJsonSchema, configJsonSchemaText } from '../../src/config/json-schema.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigFile, Target } from '../../src/config/schema.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '../..');
const committed = path.join(root, 'schema', 'diffship.schema.json');

/** Every key SPEC §2 names, top level and per target. */
const SPEC_TOP = [
  'source',
  'include',
  'exclude',
  'mode',
  'protect',
  'state-dir',
  'on-drift',
  'max-deletes',
  'waves',
  'max-parallel',
  'max-failures',
  'rollback',
  'timeout',
  'defaults',
  'targets',
];
const SPEC_TARGET = [
  'name',
  'type',
  'host',
  'port',
  'user',
  'path',
  'labels',
  'vars',
  'identity-file',
  'private-key',
  'known-hosts',
  'strict-host-key',
  'before',
  'activate',
  'verify',
  'after',
];

type Json = {
  properties: Record<string, Json>;
  items: Json;
  required?: string[];
  additionalProperties?: boolean;
};

describe('JSON Schema', () => {
  it('is committed exactly as `npm run schema` generates it now (run it after changing schema.ts)', async () => {
    expect(await fs.readFile(committed, 'utf8')).toBe(configJsonSchemaText());
  });

  it('lists every key of the SPEC and of the zod schema, and refuses others', () => {
    const schema = configJsonSchema() as unknown as Json & { $schema: string };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const top = Object.keys(schema.properties);
    expect(top).toEqual(expect.arrayContaining(SPEC_TOP));
    expect(top.sort()).toEqual(Object.keys(ConfigFile.shape).sort());
    expect(schema.required).toEqual(['targets']);
    expect(schema.additionalProperties).toBe(false);

    const target = schema.properties.targets!.items;
    expect(Object.keys(target.properties)).toEqual(expect.arrayContaining(SPEC_TARGET));
    expect(Object.keys(target.properties).sort()).toEqual(Object.keys(Target.shape).sort());
    expect(target.required?.sort()).toEqual(['name', 'path']);
    expect(Object.keys(schema.properties.defaults!.properties).sort()).toEqual([
      'activate',
      'after',
      'before',
      'verify',
    ]);
    expect(Object.keys(schema.properties.defaults!.properties.verify!.items.properties).sort()).toEqual([
      'command',
      'http',
      'tcp',
    ]);
  });

  it('covers every key of the SPEC §2 example, which loads', async () => {
    const example = path.join(root, 'test/config/fixtures/spec-example.yml');
    const value = parse(await fs.readFile(example, 'utf8')) as Record<string, unknown> & {
      targets: Array<Record<string, unknown>>;
    };
    const schema = configJsonSchema() as unknown as Json;
    for (const key of Object.keys(value)) expect(schema.properties).toHaveProperty([key]);
    for (const target of value.targets) {
      for (const key of Object.keys(target))
        expect(schema.properties.targets!.items.properties).toHaveProperty([key]);
    }

    // With the key and known_hosts files it names in place, the example loads as is.
    const home = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-home-'));
    try {
      await fs.mkdir(path.join(home, '.ssh'));
      await fs.writeFile(path.join(home, '.ssh', 'deploy_ed25519'), 'key');
      await fs.writeFile(path.join(home, '.ssh', 'known_hosts'), 'soup-a.internal ssh-ed25519 AAAA\n');
      const config = await loadConfig(example, { env: { HOME: home, USER: 'me' } });
      expect(config.targets.map((t) => [t.name, t.type])).toEqual([
        ['soup-a', 'ssh'],
        ['dev', 'local'],
      ]);
      expect(config.waves).toEqual([{ count: 1 }, { percent: 50 }, { percent: 100 }]);
      expect(config.targets[0]!.hooks.verify.map((c) => c.kind)).toEqual(['http', 'tcp', 'command']);
      expect(config.targets[0]!.ssh!.knownHosts).toBe('soup-a.internal ssh-ed25519 AAAA\n');
    } finally {
      await fs.rm(home, { recursive: true, force: true });
    }
  });
});

describe('docs/config.md', () => {
  it('has a complete example that loads, using every top-level key of the schema', async () => {
    const docs = await fs.readFile(path.join(root, 'docs/config.md'), 'utf8');
    const example = /## A complete example\s+```yaml\n([\s\S]*?)```/.exec(docs)?.[1];
    expect(example).toBeDefined();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'diffship-docs-'));
    try {
      await fs.mkdir(path.join(dir, '.ssh'));
      await fs.writeFile(path.join(dir, '.ssh', 'deploy_ed25519'), 'key');
      await fs.writeFile(path.join(dir, '.ssh', 'known_hosts'), 'soup-a.internal ssh-ed25519 AAAA\n');
      await fs.writeFile(path.join(dir, 'diffship.yml'), example!);
      const config = await loadConfig(path.join(dir, 'diffship.yml'), { env: { HOME: dir, USER: 'me' } });
      expect(config.targets.map((t) => t.name)).toEqual(['soup-a', 'dev']);
      const keys = Object.keys(parse(example!) as object);
      expect([...keys, '$schema', 'renames'].sort()).toEqual(Object.keys(ConfigFile.shape).sort());
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
