/**
 * Every shell, TypeScript and JavaScript example in README.md and docs/*.md runs, so the
 * docs cannot drift from the code. Each runs in a temp workspace: a git
 * repository with releases v1.3.0 and v1.4.0 (a `workflows/` folder), a
 * diffship.yml with two local targets (soup-a, soup-b, label eu) already on
 * v1.3.0, the built CLI on PATH as `diffship` and `npx diffship`, and the
 * package importable as `diffship`. Blocks of one file run in order in one
 * workspace. A block that cannot run standalone is marked in the markdown,
 * right before it, with `<!-- docs-test: skip (why) -->`; the reasons are
 * required and their number is capped. An example that ends with a non-zero
 * exit code on purpose says so the same way: `<!-- docs-test: exit 2 -->`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { git, tempDir } from '../helpers/git.js';
import { extractBlocks, JAVASCRIPT, SHELL, TYPESCRIPT, type DocBlock } from './extract.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Blocks that may be marked skipped, at most: raise it only with a reason in the markdown. */
const MAX_SKIPPED = 15;

const FILES = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const blocks: DocBlock[] = FILES.flatMap((f) => extractBlocks(f, readFileSync(path.join(ROOT, f), 'utf8')));
const runnable = (b: DocBlock) => SHELL.has(b.lang) || TYPESCRIPT.has(b.lang) || JAVASCRIPT.has(b.lang);
const where = (b: DocBlock) => `${b.file}:${b.line} (\`\`\`${b.lang})`;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The workspace a file's examples run in. */
function workspace(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = tempDir('diffship-docs-');
  dirs.push(dir);
  git(dir, 'init', '-q', '-b', 'main');
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  write('.gitignore', 'targets/\nnode_modules/\nbin/\nbuild/\n*.mjs\n*.json\n');
  write('workflows/orders-in.xml', '<flow name="orders-in"/>\n');
  write('workflows/lab-results.xml', '<flow name="lab-results"/>\n');
  write('workflows/old.xml', '<flow name="old"/>\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'v1.3.0');
  git(dir, 'tag', 'v1.3.0');
  write('workflows/orders-in.xml', '<flow name="orders-in" steps="2"/>\n');
  write('workflows/billing-out.xml', '<flow name="billing-out"/>\n');
  write('workflows/draft.draft.xml', '<flow name="draft"/>\n');
  rmSync(path.join(dir, 'workflows/old.xml'));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'v1.4.0');
  git(dir, 'tag', 'v1.4.0');
  // A built release (`--dir build/carbonapps`), not in git.
  write('build/carbonapps/orders.car', 'carbon app bytes\n');
  write(
    'diffship.yml',
    [
      'source: workflows',
      'targets:',
      '  - { name: soup-a, type: local, path: targets/soup-a, labels: [eu, canary] }',
      '  - { name: soup-b, type: local, path: targets/soup-b, labels: [eu] }',
      '',
    ].join('\n'),
  );
  // The CLI as a user has it: `diffship` on PATH, and `npx diffship` after `npm ci`.
  write('bin/diffship', `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`);
  write(
    'bin/npx',
    '#!/bin/sh\nif [ "$1" = diffship ]; then shift; exec diffship "$@"; fi\necho "npx: only npx diffship is available in the docs test" >&2; exit 127\n',
  );
  // No registry from here: a block that installs must be marked skipped.
  write('bin/npm', '#!/bin/sh\necho "npm: not available in the docs test" >&2; exit 127\n');
  chmodSync(path.join(dir, 'bin/npm'), 0o755);
  chmodSync(path.join(dir, 'bin/diffship'), 0o755);
  chmodSync(path.join(dir, 'bin/npx'), 0o755);
  // The library as `import … from 'diffship'` resolves it: the package, through its exports.
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(ROOT, path.join(dir, 'node_modules/diffship'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${path.join(dir, 'bin')}:${path.dirname(process.execPath)}:${process.env.PATH}`,
    NO_COLOR: '1',
  };
  // Every target already holds v1.3.0, as after a first deploy.
  const first = spawnSync('diffship', ['deploy', '--to', 'v1.3.0', '--no-progress'], {
    cwd: dir,
    env,
    encoding: 'utf8',
  });
  if (first.status !== 0) throw new Error(`workspace setup failed: ${first.stdout}${first.stderr}`);
  return { dir, env };
}

function run(
  b: DocBlock,
  ws: { dir: string; env: NodeJS.ProcessEnv },
): { code: number | null; output: string } {
  let r;
  if (SHELL.has(b.lang)) {
    r = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', b.body], {
      cwd: ws.dir,
      env: ws.env,
      encoding: 'utf8',
      timeout: 60_000,
    });
  } else {
    const js = JAVASCRIPT.has(b.lang)
      ? b.body
      : ts.transpileModule(b.body, {
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        }).outputText;
    const file = path.join(ws.dir, `example-${b.file.replace(/\W/g, '_')}-${b.line}.mjs`);
    writeFileSync(file, js);
    r = spawnSync(process.execPath, [file], { cwd: ws.dir, env: ws.env, encoding: 'utf8', timeout: 60_000 });
  }
  return { code: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

describe('docs examples', () => {
  it('finds the examples, and every skipped one says why (and there are few)', () => {
    const examples = blocks.filter(runnable);
    expect(examples.length).toBeGreaterThan(15);
    const skipped = examples.filter((b) => b.skip !== undefined);
    for (const b of skipped)
      expect(b.skip, `${where(b)}: docs-test: skip needs a reason in (…)`).not.toBe('');
    expect(
      skipped.length,
      `too many skipped examples:\n${skipped.map((b) => `${where(b)}: ${b.skip}`).join('\n')}`,
    ).toBeLessThanOrEqual(MAX_SKIPPED);
  });

  it('every TypeScript example type-checks against the package types', () => {
    // Each block is a module importing 'diffship', resolved through the package's own exports.
    const dir = tempDir('diffship-docs-tsc-');
    dirs.push(dir);
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(ROOT, path.join(dir, 'node_modules/diffship'));
    const files = new Map<string, DocBlock>();
    for (const b of blocks.filter((x) => TYPESCRIPT.has(x.lang) && x.skip === undefined)) {
      const file = path.join(dir, `${b.file.replace(/\W/g, '_')}-${b.line}.mts`);
      writeFileSync(file, `${b.body}\nexport {};\n`);
      files.set(file, b);
    }
    expect(files.size).toBeGreaterThan(3);
    const program = ts.createProgram([...files.keys()], {
      target: ts.ScriptTarget.ES2023,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2023.d.ts'],
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules/@types')],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const b = d.file ? files.get(d.file.fileName) : undefined;
      const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : 0;
      const where = b ? `${b.file}:${b.line + 1 + at}` : (d.file?.fileName ?? '?');
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(problems.join('\n')).toBe('');
  });

  const byFile = new Map<string, DocBlock[]>();
  for (const b of blocks.filter((x) => runnable(x) && x.skip === undefined))
    byFile.set(b.file, [...(byFile.get(b.file) ?? []), b]);

  it.each([...byFile.keys()])(
    '%s: every shell, TypeScript and JavaScript example runs',
    (file) => {
      const ws = workspace();
      const failures: string[] = [];
      for (const b of byFile.get(file)!) {
        const r = run(b, ws);
        if (r.code !== b.exit)
          failures.push(
            `${where(b)} exited ${r.code}${b.exit ? ` (expected ${b.exit})` : ''}:\n--- block ---\n${b.body}\n--- output ---\n${r.output.trim()}\n`,
          );
      }
      expect(failures.join('\n'), `${failures.length} example(s) in ${file} failed`).toBe('');
    },
    180_000,
  );
});
