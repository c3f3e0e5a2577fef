/**
 * The streamed JSON (`writeDiffJson`, `diffship diff --json`) must be the very
 * bytes of `JSON.stringify(await diffReleases(o))`: real repositories with
 * renames, deletions, mode changes and odd names; a slow reader (backpressure);
 * a reader that fails; and git output out of byte order (the re-sort path).
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classify } from '../../src/diff/classify.js';
import { formatDiffJson, writeDiffJson } from '../../src/diff/diff-json.js';
import { diffReleases } from '../../src/diff/diff-releases.js';
import { parseRawDiff } from '../../src/diff/raw.js';
import type { DiffOptions } from '../../src/diff/types.js';
import { git, gitBytes } from '../helpers/git.js';
import { createRepo, type TestRepo } from './git-repo.js';

/** A Writable that keeps what it gets; `delay` ms per write makes it slow, `failAfter` writes make it fail. */
function sink(options: { highWaterMark?: number; delay?: number; failAfter?: number } = {}) {
  const chunks: Buffer[] = [];
  let writes = 0;
  let mostBuffered = 0;
  const stream = new Writable({
    highWaterMark: options.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _encoding, done) {
      writes += 1;
      chunks.push(chunk);
      if (options.failAfter !== undefined && writes > options.failAfter) {
        done(new Error('reader went away'));
        return;
      }
      if (options.delay) setTimeout(done, options.delay);
      else done();
    },
  });
  const write = stream.write.bind(stream);
  // Most bytes ever queued in the stream: bounded only if the writer waits for 'drain'.
  stream.write = ((chunk: string | Buffer, ...rest: never[]) => {
    const ok = write(chunk, ...rest);
    mostBuffered = Math.max(mostBuffered, stream.writableLength);
    return ok;
  }) as typeof stream.write;
  return {
    stream,
    text: () => Buffer.concat(chunks).toString('utf8'),
    writes: () => writes,
    mostBuffered: () => mostBuffered,
  };
}

async function streamed(options: DiffOptions & { indent?: number }): Promise<string> {
  const out = sink();
  await writeDiffJson(out.stream, options);
  return out.text();
}

async function whole(options: DiffOptions, indent = 0): Promise<string> {
  return `${JSON.stringify(await diffReleases(options), null, indent)}\n`;
}

describe('writeDiffJson: the same bytes as JSON.stringify(diffReleases)', () => {
  let r: TestRepo;
  let v1: string;
  let v2: string;
  const long = (tag: string) => Array.from({ length: 40 }, (_, i) => `${tag} line ${i}\n`).join('');

  beforeAll(() => {
    r = createRepo();
    r.write({
      'app/keep.json': 'keep\n',
      'app/old name.json': long('rename me'),
      'app/edited then moved.json': long('edited'),
      'app/gone.json': 'gone\n',
      'app/run.sh': 'echo\n',
      'app/link': { link: 'keep.json' },
      'app/new\nline.json': 'nl\n',
      'app/tab\there.json': 'tab\n',
      'app/back\\slash.json': 'bs\n',
      'app/\u2028sep.json': 'ls\n',
      'app/\u{1F600}.json': 'astral\n',
      'app/\uE000.json': 'private use\n',
      'app/é.json': 'accent\n',
      'other.txt': 'x\n',
    });
    v1 = r.commit();
    r.remove('app/old name.json', 'app/gone.json', 'app/edited then moved.json', 'app/link');
    r.write({
      'app/keep.json': 'keep 2\n',
      'app/moved/new name.json': long('rename me'),
      'app/moved/edited.json': `${long('edited')}one more\n`,
      'app/run.sh': { content: 'echo\n', mode: 0o755 },
      'app/link': 'now a file\n',
      'app/new\nline.json': 'nl 2\n',
      'app/added "q".json': 'q\n',
      'app/\u001b[31mred.json': 'ansi\n',
      'app/\u{1F600}.json': 'astral 2\n',
      'app/\uE000.json': 'private use 2\n',
      'other.txt': 'y\n',
    });
    v2 = r.commit();
  });
  afterAll(() => r.cleanup());

  it.each([
    ['whole repository', {}],
    ['source folder', { source: 'app' }],
    ['include and exclude', { include: ['app/**'], exclude: ['**/*.sh'] }],
    ['no renames', { renames: false }],
  ])('compact and indented, %s', async (_name, extra: DiffOptions) => {
    const options = { repo: r.dir, from: v1, to: v2, ...extra };
    const expected = await whole(options);
    expect(await streamed(options)).toBe(expected);
    expect(await streamed({ ...options, indent: 2 })).toBe(await whole(options, 2));
    expect(await streamed({ ...options, indent: 4 })).toBe(await whole(options, 4));
  });

  it('covers every kind of change, and the summary it resolves with', async () => {
    const out = sink();
    const summary = await writeDiffJson(out.stream, { repo: r.dir, from: v1, to: v2 });
    const parsed = JSON.parse(out.text());
    expect(Object.keys(parsed)).toEqual(['from', 'to', 'source', 'changes', 'counts']);
    expect(summary).toEqual({ from: v1, to: v2, source: '.', counts: parsed.counts });
    const statuses = new Set(parsed.changes.map((c: { status: string }) => c.status));
    expect([...statuses].sort()).toEqual(['added', 'deleted', 'renamed', 'updated']);
    expect(parsed.changes.map((c: { path: string }) => c.path)).toContain('app/new\nline.json');
    // Byte order: the astral character (F0 9F…) sorts after U+E000 (EE 80 80), unlike UTF-16.
    const names = parsed.changes.map((c: { path: string }) => c.path);
    expect(names.indexOf('app/\u{1F600}.json')).toBeGreaterThan(names.indexOf('app/\uE000.json'));
  });

  it('an empty change set and a whole release (no --from)', async () => {
    for (const options of [
      { repo: r.dir, from: v2, to: v2 },
      { repo: r.dir, to: v1 },
    ]) {
      expect(await streamed(options)).toBe(await whole(options));
      expect(await streamed({ ...options, indent: 2 })).toBe(await whole(options, 2));
    }
  });

  it('refuses a name that is not UTF-8 before writing anything, and matches when it is excluded', async () => {
    const b = createRepo();
    try {
      b.write({ 'ok.json': '1' });
      b.writeRaw(Buffer.from([0x62, 0x61, 0x64, 0xff, 0x2e, 0x6a]), 'x');
      const head = b.commit();
      const out = sink();
      await expect(writeDiffJson(out.stream, { repo: b.dir, to: head })).rejects.toMatchObject({
        code: 'E_CONFIG',
        message: expect.stringContaining('"bad\\xff.j" is not valid UTF-8'),
      });
      expect(out.writes()).toBe(0);
      const filtered = { repo: b.dir, to: head, include: ['*.json'] };
      expect(await streamed(filtered)).toBe(await whole(filtered));
    } finally {
      b.cleanup();
    }
  });
});

describe('writeDiffJson: large output', () => {
  let r: TestRepo;
  let v1: string;
  let v2: string;

  beforeAll(() => {
    r = createRepo();
    r.write({ 'seed.txt': 'seed\n' });
    v1 = r.commit();
    // 3,000 entries (~0.5 MB of JSON, several chunks) without 3,000 files on disk.
    const blob = gitBytes(r.dir, ['hash-object', '-w', '--stdin'], 'same\n').toString().trim();
    const index = Array.from(
      { length: 3000 },
      (_, i) => `100644 ${blob}\tbulk/${i % 7}/file-"${String(i).padStart(5, '0')}"-${'x'.repeat(60)}.json`,
    ).join('\n');
    gitBytes(r.dir, ['update-index', '--index-info'], `${index}\n`);
    git(r.dir, 'commit', '-q', '-m', 'bulk');
    v2 = git(r.dir, 'rev-parse', 'HEAD');
  });
  afterAll(() => r.cleanup());

  it('waits for a slow reader: the bytes queued stay near one chunk, and nothing is lost', async () => {
    const options = { repo: r.dir, from: v1, to: v2 };
    const slow = sink({ highWaterMark: 1024, delay: 2 });
    await writeDiffJson(slow.stream, options);
    const expected = await whole(options);
    expect(expected.length).toBeGreaterThan(4 * 65536);
    expect(slow.text()).toBe(expected);
    expect(slow.writes()).toBeGreaterThan(4);
    // Without waiting for 'drain' every chunk would be queued at once (the whole output).
    expect(slow.mostBuffered()).toBeLessThanOrEqual(2 * 65536);
  });

  it('rejects, not hangs, when the reader fails mid-way', async () => {
    const failing = sink({ highWaterMark: 1024, delay: 1, failAfter: 1 });
    failing.stream.on('error', () => {}); // the rejection is what the test reads
    await expect(writeDiffJson(failing.stream, { repo: r.dir, from: v1, to: v2 })).rejects.toThrow(
      /reader went away/,
    );
  });
});

describe('formatDiffJson: git output out of byte order is sorted', () => {
  const A = 'a'.repeat(40);
  const B = 'b'.repeat(40);
  const record = (header: string, ...paths: string[]) => `${header}\0${paths.join('\0')}\0`;

  it.each([0, 2])('indent %i: equals JSON.stringify of the sorted change set', (indent) => {
    const names = Array.from(
      { length: 2500 },
      (_, i) => `dir/${String(i).padStart(4, '0')}-${'n'.repeat(30)}`,
    );
    const raw = Buffer.from(
      [
        ...names.reverse().map((n) => record(`:000000 100644 ${'0'.repeat(40)} ${A} A`, n)),
        record(`:100644 100755 ${A} ${B} M`, 'b "q"'),
        record(`:100644 100644 ${A} ${B} R087`, 'old\nname', 'a\u{1F600}'),
        record(`:100644 100644 ${A} ${B} R100`, 'x', 'a\uE000'),
        record(`:100644 000000 ${A} ${'0'.repeat(40)} D`, 'a'),
      ].join(''),
    );
    const filter = () => true;
    const text = formatDiffJson({ from: B, to: A, source: '.', stdout: raw, prefix: '', filter }, indent);
    const changes = classify(parseRawDiff(raw), { prefix: '', filter });
    const counts = { added: 2500, updated: 1, deleted: 1, renamed: 2 };
    const expected = `${JSON.stringify({ from: B, to: A, source: '.', changes, counts }, null, indent)}\n`;
    const got = [...text.chunks()].map((c) => c.toString()).join('');
    expect(got).toBe(expected);
    expect(changes[0]!.path).toBe('a');
    expect(text.summary.counts).toEqual(counts);
  });
});
