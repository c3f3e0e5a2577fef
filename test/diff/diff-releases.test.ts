import { afterAll, describe, expect, it } from 'vitest';
import { diffReleases } from '../../src/diff/diff-releases.js';
import type { Change, DiffResult } from '../../src/diff/types.js';
import type { Logger } from '../../src/log.js';
import { asView, blobAt, createRepo, gitView, type TestRepo } from './git-repo.js';
import { git, gitBytes } from '../helpers/git.js';

const repos: TestRepo[] = [];
const repo = (options?: Parameters<typeof createRepo>[0]) => {
  const r = createRepo(options);
  repos.push(r);
  return r;
};
afterAll(() => repos.forEach((r) => r.cleanup()));

const byPath = (result: DiffResult) => new Map(result.changes.map((c) => [c.path, c]));
const paths = (result: DiffResult) => result.changes.map((c) => c.path);
const long = (tag: string) => Array.from({ length: 40 }, (_, i) => `${tag} line ${i}\n`).join('');

describe('diffReleases: classes of change', () => {
  const r = repo();
  r.write({
    'a.json': '{"a":1}\n',
    'b.json': '{"b":1}\n',
    'run.sh': 'echo hi\n',
    'to-link': 'plain file\n',
    'to-file': { link: 'a.json' },
    'd.json': 'bye\n',
    'e.json': long('e'),
    'gone/one.json': '1\n',
    'gone/deeper/two.json': '2\n',
    'Readme.md': 'readme\n',
  });
  const v1 = r.commit();
  r.remove('to-link', 'to-file', 'd.json', 'e.json', 'gone', 'Readme.md');
  r.write({
    'new.json': 'new\n',
    'b.json': '{"b":2}\n',
    'run.sh': { content: 'echo hi\n', mode: 0o755 },
    'to-link': { link: 'b.json' },
    'to-file': 'now a file\n',
    'e2.json': `${long('e')}one more line\n`,
    'README.md': 'readme\n',
  });
  const v2 = r.commit();

  it('reports every class with modes, blobs and similarity, as git sees it', async () => {
    const result = await diffReleases({ repo: r.dir, from: v1, to: v2 });
    expect(result.from).toBe(v1);
    expect(result.to).toBe(v2);
    expect(result.source).toBe('.');
    expect(asView(result.changes)).toEqual(gitView(r.dir, v1, v2));
    const c = byPath(result);
    expect(c.get('new.json')).toEqual({
      status: 'added',
      path: 'new.json',
      mode: '100644',
      blob: blobAt(r.dir, v2, 'new.json'),
    });
    expect(c.get('b.json')).toEqual({
      status: 'updated',
      path: 'b.json',
      mode: '100644',
      blob: blobAt(r.dir, v2, 'b.json'),
      oldMode: '100644',
      oldBlob: blobAt(r.dir, v1, 'b.json'),
    });
    // Mode only: same blob, new mode.
    expect(c.get('run.sh')).toMatchObject({ status: 'updated', mode: '100755', oldMode: '100644' });
    expect((c.get('run.sh') as { blob: string }).blob).toBe((c.get('run.sh') as { oldBlob: string }).oldBlob);
    // Type changes.
    expect(c.get('to-link')).toMatchObject({ status: 'updated', mode: '120000', oldMode: '100644' });
    expect(c.get('to-file')).toMatchObject({ status: 'updated', mode: '100644', oldMode: '120000' });
    expect(c.get('d.json')).toEqual({
      status: 'deleted',
      path: 'd.json',
      oldMode: '100644',
      oldBlob: blobAt(r.dir, v1, 'd.json'),
    });
    const renamed = c.get('e2.json');
    expect(renamed).toMatchObject({
      status: 'renamed',
      oldPath: 'e.json',
      mode: '100644',
      oldMode: '100644',
    });
    expect((renamed as { similarity: number }).similarity).toBeGreaterThan(50);
    expect((renamed as { similarity: number }).similarity).toBeLessThan(100);
    // A case-only rename is a rename (exact: 100%).
    expect(c.get('README.md')).toMatchObject({ status: 'renamed', oldPath: 'Readme.md', similarity: 100 });
    // A folder deleted whole: every file in it, recursively.
    expect(c.get('gone/one.json')).toMatchObject({ status: 'deleted' });
    expect(c.get('gone/deeper/two.json')).toMatchObject({ status: 'deleted' });
    expect(result.counts).toEqual({ added: 1, updated: 4, deleted: 3, renamed: 2 });
    expect(result.changes).toHaveLength(10);
  });

  it('reports renames as deletion plus addition with renames: false', async () => {
    const result = await diffReleases({ repo: r.dir, from: v1, to: v2, renames: false });
    expect(asView(result.changes)).toEqual(gitView(r.dir, v1, v2, { renames: false }));
    expect(result.counts.renamed).toBe(0);
    expect(byPath(result).get('e.json')).toMatchObject({ status: 'deleted' });
    expect(byPath(result).get('e2.json')).toMatchObject({ status: 'added' });
    expect(byPath(result).get('Readme.md')).toMatchObject({ status: 'deleted' });
  });

  it('ignores diff.renames config: renames follow the option only', async () => {
    git(r.dir, 'config', 'diff.renames', 'false');
    try {
      expect((await diffReleases({ repo: r.dir, from: v1, to: v2 })).counts.renamed).toBe(2);
    } finally {
      git(r.dir, 'config', '--unset', 'diff.renames');
    }
  });

  it('is empty between a release and itself, and to defaults to HEAD', async () => {
    const same = await diffReleases({ repo: r.dir, from: v2 });
    expect(same).toEqual({
      from: v2,
      to: v2,
      source: '.',
      changes: [],
      counts: { added: 0, updated: 0, deleted: 0, renamed: 0 },
    });
  });

  it('reports a file replaced by a folder of the same name as a deletion and additions', async () => {
    const f = repo();
    f.write({ x: 'file\n', 'y/z': 'in folder\n' });
    const a = f.commit();
    f.remove('x', 'y');
    f.write({ 'x/inner.json': '1\n', y: 'now a file\n' });
    const b = f.commit();
    const result = await diffReleases({ repo: f.dir, from: a, to: b });
    expect(asView(result.changes)).toEqual([
      { status: 'deleted', path: 'x' },
      { status: 'added', path: 'x/inner.json' },
      { status: 'added', path: 'y' },
      { status: 'deleted', path: 'y/z' },
    ]);
    expect(asView(result.changes)).toEqual(gitView(f.dir, a, b));
  });

  it('goes backwards as well (no merge base or history needed)', async () => {
    const back = await diffReleases({ repo: r.dir, from: v2, to: v1 });
    expect(asView(back.changes)).toEqual(gitView(r.dir, v2, v1));
    expect(byPath(back).get('e.json')).toMatchObject({ status: 'renamed', oldPath: 'e2.json' });
  });
});

describe('diffReleases: hostile names', () => {
  const names = [
    'with space.json',
    'quote"s.json',
    "single'quote.json",
    'back\\slash.json',
    'tab\tname.json',
    'new\nline.json',
    'trailing newline\n',
    'ünïcödé ✓.json',
    '日本語.txt',
    '-leading-dash.json',
    '--output=x',
    '[a]*?.json',
    '\u{1F600}.json',
    '\uFF5E.json',
    'trailing space ',
    ' leading space',
    '.hidden',
    'dir with space/nested "x"/y.json',
    'esc\u001b[31mred.json',
    'cr\rname',
  ];
  const r = repo();
  r.write(Object.fromEntries(names.map((n) => [n, `content of ${n}\n`])));
  const v1 = r.commit();
  r.write(Object.fromEntries(names.slice(0, 10).map((n) => [n, `changed ${n}\n`])));
  for (const n of names.slice(10, 15)) {
    r.remove(n);
    r.write({ [`moved/${n}`]: `content of ${n}\n` });
  }
  r.remove(names[15]!);
  const v2 = r.commit();

  it('adds every name byte for byte from the empty tree, sorted by bytes', async () => {
    const result = await diffReleases({ repo: r.dir, to: v1 });
    expect(result.from).toBeNull();
    const sorted = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(paths(result)).toEqual(sorted);
    for (const change of result.changes) {
      expect(change).toEqual({
        status: 'added',
        path: change.path,
        mode: '100644',
        blob: blobAt(r.dir, v1, change.path),
      });
    }
  });

  it('matches git for updates, renames and deletions of such names', async () => {
    const result = await diffReleases({ repo: r.dir, from: v1, to: v2 });
    expect(asView(result.changes)).toEqual(gitView(r.dir, v1, v2));
    expect(result.counts).toEqual({ added: 0, updated: 10, deleted: 1, renamed: 5 });
    expect(byPath(result).get('moved/--output=x')).toMatchObject({
      status: 'renamed',
      oldPath: '--output=x',
      similarity: 100,
    });
  });

  it('refuses a kept name that is not valid UTF-8, naming its bytes, unless it is filtered out', async () => {
    const b = repo();
    b.write({ 'ok.json': '1' });
    b.writeRaw(Buffer.from([0x62, 0x61, 0x64, 0xff, 0x2e, 0x6a]), 'x');
    const head = b.commit();
    await expect(diffReleases({ repo: b.dir, to: head })).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringContaining('"bad\\xff.j" is not valid UTF-8'),
    });
    const filtered = await diffReleases({ repo: b.dir, to: head, include: ['*.json'] });
    expect(paths(filtered)).toEqual(['ok.json']);
  });
});

describe('diffReleases: source folder and filters', () => {
  const r = repo();
  r.write({
    'workflows/a.json': 'a\n',
    'workflows/.env.json': 'dot\n',
    'workflows/.diffshipignore': '# nothing yet\n',
    'workflows/b.txt': long('b'),
    'workflows/drafts/x.json': 'x\n',
    'workflows/stay.json': long('stay'),
    'workflows-old/a.json': 'old\n',
    'workflows.txt': 'sibling\n',
    'outside/in.json': long('in'),
    'README.md': 'top\n',
    '[ws]/a.json': 'bracket\n',
    'w/a.json': 'w\n',
  });
  const v1 = r.commit();
  r.remove('workflows/b.txt', 'outside/in.json', 'workflows/stay.json');
  r.write({
    'workflows/a.json': 'a2\n',
    'workflows/.env.json': 'dot2\n',
    'workflows/b.json': long('b'), // renamed across the include boundary (*.txt → *.json)
    'workflows/in.json': long('in'), // renamed into the source folder
    'outside/stay.json': long('stay'), // renamed out of it
    'workflows/drafts/x.json': 'x2\n',
    'workflows/new.draft.json': 'draft\n',
    'workflows-old/a.json': 'old2\n',
    'workflows.txt': 'sibling2\n',
    'README.md': 'top2\n',
    '[ws]/a.json': 'bracket2\n',
    'w/a.json': 'w2\n',
  });
  const v2 = r.commit();

  it('limits the diff to the source folder and strips its prefix', async () => {
    const result = await diffReleases({ repo: r.dir, from: v1, to: v2, source: 'workflows' });
    expect(result.source).toBe('workflows');
    // Renames across the folder boundary are one-sided: in → added, out → deleted.
    expect(asView(result.changes)).toEqual(
      gitView(r.dir, v1, v2, { pathspec: 'workflows/' })
        .filter((c) => c.path !== 'workflows/.diffshipignore')
        .map(({ oldPath, ...c }) => ({
          ...c,
          path: c.path.slice('workflows/'.length),
          ...(oldPath ? { oldPath: oldPath.slice('workflows/'.length) } : {}),
        })),
    );
    expect(paths(result)).toEqual([
      '.env.json',
      'a.json',
      'b.json',
      'drafts/x.json',
      'in.json',
      'new.draft.json',
      'stay.json',
    ]);
    const c = byPath(result);
    expect(c.get('in.json')).toMatchObject({ status: 'added' });
    expect(c.get('stay.json')).toMatchObject({ status: 'deleted' });
    expect(c.get('b.json')).toMatchObject({ status: 'renamed', oldPath: 'b.txt' });
  });

  it('accepts the source as ./dir/ and keeps it as given', async () => {
    const result = await diffReleases({ repo: r.dir, from: v1, to: v2, source: './workflows/' });
    expect(result.source).toBe('./workflows/');
    expect(paths(result)).toContain('a.json');
  });

  it('treats the source name literally, not as a glob', async () => {
    const result = await diffReleases({ repo: r.dir, from: v1, to: v2, source: '[ws]' });
    expect(paths(result)).toEqual(['a.json']);
    expect(result.changes[0]).toMatchObject({ blob: blobAt(r.dir, v2, '[ws]/a.json') });
  });

  it('applies include and exclude to source-relative paths, dot files included, exclude winning', async () => {
    const result = await diffReleases({
      repo: r.dir,
      from: v1,
      to: v2,
      source: 'workflows',
      include: ['**/*.json'],
      exclude: ['**/*.draft.json', 'drafts/'],
    });
    expect(paths(result)).toEqual(['.env.json', 'a.json', 'b.json', 'in.json', 'stay.json']);
    // b.txt → b.json crossed the include boundary: only the new side is visible.
    expect(byPath(result).get('b.json')).toMatchObject({ status: 'added' });
  });

  it('turns a rename whose new path is excluded into a deletion', async () => {
    const result = await diffReleases({
      repo: r.dir,
      from: v1,
      to: v2,
      source: 'workflows',
      exclude: ['b.json'],
    });
    expect(byPath(result).get('b.txt')).toMatchObject({ status: 'deleted', oldMode: '100644' });
    expect(byPath(result).has('b.json')).toBe(false);
  });

  it('finds the source folder from the repository root even when repo is a subfolder', async () => {
    const result = await diffReleases({ repo: `${r.dir}/outside`, from: v1, to: v2, source: 'workflows' });
    expect(paths(result)).toContain('a.json');
  });

  it('ignores GIT_LITERAL_PATHSPECS and friends in the environment', async () => {
    process.env.GIT_ICASE_PATHSPECS = '1';
    process.env.GIT_LITERAL_PATHSPECS = '1';
    try {
      const result = await diffReleases({ repo: r.dir, from: v1, to: v2, source: 'workflows' });
      expect(paths(result)).toContain('a.json');
      expect(paths(result)).not.toContain('workflows-old/a.json');
    } finally {
      delete process.env.GIT_ICASE_PATHSPECS;
      delete process.env.GIT_LITERAL_PATHSPECS;
    }
  });
});

describe('diffReleases: .diffshipignore', () => {
  const r = repo();
  r.write({
    'src/a.json': 'a\n',
    'src/b.draft.json': 'b\n',
    'src/local/c.json': 'c\n',
    'src/.diffshipignore': 'local/\n',
  });
  const v1 = r.commit();
  r.write({
    'src/a.json': 'a2\n',
    'src/b.draft.json': 'b2\n',
    'src/local/c.json': 'c2\n',
    // The `to` release's ignore file counts: CRLF, a comment, a blank line.
    'src/.diffshipignore': '# drafts stay home\r\n**/*.draft.json\r\n\r\n',
    'src/sub/.diffshipignore': 'not special here\n',
  });
  const v2 = r.commit();

  it('adds the patterns of the to release and never reports the file itself', async () => {
    const result = await diffReleases({ repo: r.dir, from: v1, to: v2, source: 'src' });
    expect(paths(result)).toEqual(['a.json', 'local/c.json', 'sub/.diffshipignore']);
  });

  it('is read from the source folder only', async () => {
    const result = await diffReleases({ repo: r.dir, from: v1, to: v2 });
    expect(paths(result)).toEqual(
      expect.arrayContaining(['src/.diffshipignore', 'src/b.draft.json', 'src/a.json', 'src/local/c.json']),
    );
  });

  it('applies to the whole release when from is empty, and merges with exclude', async () => {
    const result = await diffReleases({ repo: r.dir, to: v2, source: 'src', exclude: ['sub/**'] });
    expect(paths(result)).toEqual(['a.json', 'local/c.json']);
  });

  it('refuses a negation line', async () => {
    r.write({ 'src/.diffshipignore': 'a\n!b\n' });
    const v3 = r.commit();
    await expect(diffReleases({ repo: r.dir, from: v2, to: v3, source: 'src' })).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringContaining('.diffshipignore line 2'),
    });
  });
});

describe('diffReleases: trees and objects', () => {
  it('treats an empty or omitted from as the empty tree', async () => {
    const r = repo();
    r.write({ 'a/b.json': '1', c: { content: '#!/bin/sh\n', mode: 0o755 }, l: { link: 'c' } });
    const head = r.commit();
    const all = gitBytes(r.dir, ['ls-tree', '-r', '-z', head]).toString('utf8').split('\0').filter(Boolean);
    const expected = all.map((line) => {
      const [meta, path] = line.split('\t') as [string, string];
      const [mode, , blob] = meta.split(' ');
      return { status: 'added', path, mode, blob };
    });
    for (const from of [undefined, '', null]) {
      const result = await diffReleases({ repo: r.dir, from, to: head });
      expect(result.from).toBeNull();
      expect(result.changes).toEqual(expected);
    }
  });

  it('works in a SHA-256 repository (its own empty tree id)', async () => {
    const r = repo({ objectFormat: 'sha256' });
    r.write({ 'a.json': '1' });
    const v1 = r.commit();
    r.write({ 'a.json': '2', 'b.json': '3' });
    const v2 = r.commit();
    const whole = await diffReleases({ repo: r.dir, to: v1 });
    expect(whole.changes).toEqual([
      { status: 'added', path: 'a.json', mode: '100644', blob: blobAt(r.dir, v1, 'a.json') },
    ]);
    expect(whole.changes[0]).toMatchObject({ blob: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const step = await diffReleases({ repo: r.dir, from: v1, to: v2 });
    expect(step.counts).toEqual({ added: 1, updated: 1, deleted: 0, renamed: 0 });
  });

  it('reports a submodule (gitlink) with its mode', async () => {
    const r = repo();
    r.write({ 'a.json': '1' });
    const v1 = r.commit();
    git(r.dir, 'update-index', '--add', '--cacheinfo', `160000,${v1},lib/sub`);
    git(r.dir, 'commit', '-q', '-m', 'submodule');
    const v2 = git(r.dir, 'rev-parse', 'HEAD');
    const result = await diffReleases({ repo: r.dir, from: v1, to: v2 });
    expect(result.changes).toEqual([{ status: 'added', path: 'lib/sub', mode: '160000', blob: v1 }]);
  });

  it('resolves tags (annotated too), branches and short SHAs to commit SHAs', async () => {
    const r = repo();
    r.write({ 'a.json': '1' });
    const v1 = r.commit();
    git(r.dir, 'tag', '-a', '-m', 'annotated', 'v1.0.0');
    r.write({ 'a.json': '2' });
    const v2 = r.commit();
    const result = await diffReleases({ repo: r.dir, from: 'v1.0.0', to: 'main' });
    expect([result.from, result.to]).toEqual([v1, v2]);
    const short = await diffReleases({ repo: r.dir, from: v1.slice(0, 10), to: `${v2.slice(0, 10)}` });
    expect([short.from, short.to]).toEqual([v1, v2]);
    const relative = await diffReleases({ repo: r.dir, from: 'HEAD~1', to: 'HEAD' });
    expect(relative.from).toBe(v1);
  });

  it("forwards git's warnings (rename limit) to the logger", async () => {
    const r = repo();
    r.write({ 'a.txt': long('a'), 'b.txt': long('b') });
    const v1 = r.commit();
    r.remove('a.txt', 'b.txt');
    r.write({ 'a2.txt': `${long('a')}x\n`, 'b2.txt': `${long('b')}y\n` });
    const v2 = r.commit();
    git(r.dir, 'config', 'diff.renameLimit', '1');
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) };
    const result = await diffReleases({ repo: r.dir, from: v1, to: v2, logger });
    expect(asView(result.changes)).toEqual(gitView(r.dir, v1, v2));
    expect(warnings.join('\n')).toMatch(/^git: warning: .*rename/m);
  });
});

describe('diffReleases: refs and errors', () => {
  const r = repo();
  r.write({ 'a.json': '1' });
  const head = r.commit();

  it.each(['--output=x', '-p', '--upload-pack=touch x'])(
    'refuses the option-like ref %j before running git',
    async (ref) => {
      await expect(diffReleases({ repo: r.dir, from: ref })).rejects.toMatchObject({ code: 'E_REF' });
      await expect(diffReleases({ repo: r.dir, to: ref })).rejects.toMatchObject({ code: 'E_REF' });
    },
  );

  it('names an unknown ref and the fix', async () => {
    await expect(diffReleases({ repo: r.dir, from: 'v9.9.9' })).rejects.toMatchObject({
      code: 'E_REF',
      message: expect.stringMatching(
        /from ref "v9.9.9" is not a commit in this repository.*git fetch origin v9\.9\.9/,
      ),
    });
    await expect(diffReleases({ repo: r.dir, from: head, to: 'nope' })).rejects.toMatchObject({
      code: 'E_REF',
      message: expect.stringContaining('to ref "nope"'),
    });
  });

  it('refuses a ref that is not a commit', async () => {
    await expect(diffReleases({ repo: r.dir, from: `${head}^{tree}` })).rejects.toMatchObject({
      code: 'E_REF',
    });
    await expect(diffReleases({ repo: r.dir, from: `${head}:a.json` })).rejects.toMatchObject({
      code: 'E_REF',
    });
  });

  it('refuses HEAD of a repository without commits', async () => {
    const empty = repo();
    await expect(diffReleases({ repo: empty.dir })).rejects.toMatchObject({
      code: 'E_REF',
      message: /to ref "HEAD"/,
    });
  });

  it('says when the folder is not a git repository', async () => {
    const notRepo = createRepo().dir; // a repo's .git removed below
    const { rmSync } = await import('node:fs');
    rmSync(`${notRepo}/.git`, { recursive: true, force: true });
    repos.push({
      dir: notRepo,
      cleanup: () => rmSync(notRepo, { recursive: true, force: true }),
    } as TestRepo);
    await expect(diffReleases({ repo: notRepo, to: head })).rejects.toMatchObject({
      code: 'E_USAGE',
      message: expect.stringContaining('is not a git repository'),
    });
    await expect(diffReleases({ repo: `${notRepo}/missing`, to: head })).rejects.toMatchObject({
      code: 'E_USAGE',
    });
  });

  it('refuses a source folder outside the repository', async () => {
    await expect(diffReleases({ repo: r.dir, source: '../x' })).rejects.toMatchObject({ code: 'E_CONFIG' });
  });

  it('returns the changes typed as the SPEC union', async () => {
    const result = await diffReleases({ repo: r.dir });
    const change: Change = result.changes[0]!;
    expect(change.status).toBe('added');
  });
});
