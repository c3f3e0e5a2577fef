/**
 * What `npm publish` ships (package.json "files"): each thing once, and nothing
 * that cannot run from an install without devDependencies. The library is lib/
 * as far as lib/index.js reaches; the CLI is lib/bundle/ (run by bin/diffship.js,
 * which the command, bin/diffship.cjs, loads) and not also lib/cli/; the action
 * (dist/, @actions/* bundled in) is not part of the package at all.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

let packed: string[] = [];
beforeAll(() => {
  const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  packed = (JSON.parse(json) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
});

/**
 * lib/ modules reached from lib/index.js and lib/index.d.ts through relative
 * imports (static and dynamic; a .d.ts reaches the .d.ts of what it imports).
 * A module of types only is an empty .js beside the .d.ts that users need.
 */
/** `lib/a/b.js`, `lib/a/b.d.ts` → `lib/a/b`: one module, its code and its types. */
const stem = (file: string) => file.replace(/(\.d\.ts|\.js)$/, '');

function reachableFrom(...entries: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...entries];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (file.endsWith('.js')) todo.push(file.replace(/\.js$/, '.d.ts'));
    const code = fs.readFileSync(path.join(ROOT, file), 'utf8');
    for (const match of code.matchAll(/(?:from|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), match[1]!));
      todo.push(file.endsWith('.d.ts') ? target.replace(/\.js$/, '.d.ts') : target);
    }
  }
  return new Set([...seen].map(stem));
}

describe('the npm package', () => {
  it('has the entry points package.json names', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    // The command is the CommonJS launcher (it sizes the threadpool before Node 20 starts it), which loads bin/diffship.js.
    expect(pkg.bin).toEqual({ diffship: 'bin/diffship.cjs' });
    expect(fs.readFileSync(path.join(ROOT, 'bin/diffship.cjs'), 'utf8')).toContain("import('./diffship.js')");
    for (const file of [
      'package.json',
      'bin/diffship.cjs',
      'bin/diffship.js',
      'lib/index.js',
      'lib/index.d.ts',
      'lib/bundle/main.js',
    ]) {
      expect(packed).toContain(file);
    }
    expect(packed).toContain('schema/diffship.schema.json');
  });

  it('ships the CLI once (the bundle), and no action code that needs devDependencies', () => {
    const strays = packed.filter((f) => /^(lib\/(cli|action|demo)\/|dist\/)/.test(f));
    expect(strays).toEqual([]);
    const code = packed
      .filter((f) => f.endsWith('.js'))
      .map((f) => fs.readFileSync(path.join(ROOT, f), 'utf8'));
    expect(code.filter((c) => /from ['"]@actions\//.test(c))).toEqual([]);
  });

  it('ships of lib/ (outside the bundle) exactly what lib/index.js and the launcher reach', () => {
    // The launcher's own first import (the threadpool size) is outside the bundle too.
    const launcher = [
      ...fs
        .readFileSync(path.join(ROOT, 'bin/diffship.js'), 'utf8')
        .matchAll(/^import '\.\.\/(lib\/[^']+\.js)';$/gm),
    ].map((m) => m[1]!);
    expect(launcher).toEqual(['lib/threadpool-size.js']);
    const reachable = reachableFrom('lib/index.js', 'lib/index.d.ts', ...launcher);
    const libJs = packed.filter(
      (f) => f.startsWith('lib/') && !f.startsWith('lib/bundle/') && /\.(js|d\.ts)$/.test(f),
    );
    expect(libJs.filter((f) => !reachable.has(stem(f)))).toEqual([]);
    expect(
      [...reachable].filter((m) => !packed.includes(`${m}.js`) || !packed.includes(`${m}.d.ts`)),
    ).toEqual([]);
  });

  it('ships a bundle that imports no file outside itself but ssh2 and Node', () => {
    const bundle = packed.filter((f) => f.startsWith('lib/bundle/') && f.endsWith('.js'));
    for (const file of bundle) {
      const code = fs.readFileSync(path.join(ROOT, file), 'utf8');
      for (const match of code.matchAll(/(?:^|[;\s])(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]/g)) {
        const spec = match[1]!;
        if (spec.startsWith('./')) expect(bundle).toContain(path.posix.join('lib/bundle', spec));
        else expect(spec).toMatch(/^(node:|ssh2$)/);
      }
    }
  });
});
