/**
 * Transport.peek over SSH (the file helper's peek op, helper-peek.ts): the
 * lstat, bytes and names of many paths in one round trip, never read through a
 * link, and served to the reads that follow only until the transport itself
 * changes the path. Real sshd on loopback; the host's files are changed behind
 * the transport's back (fs here) to tell a served answer from a fresh one.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SshTransport } from '../../../src/transport/ssh/ssh-transport.js';
import { parsePeekPayload } from '../../../src/transport/ssh/helper-peek.js';
import { startSshd, type Sshd } from '../../helpers/sshd.js';
import { tempDir } from '../../helpers/git.js';
import { HOSTILE } from '../../apply/conformance.js';

let sshd: Sshd;
let base: string;
let root: string;
let t: SshTransport;
let counter = 0;
beforeAll(async () => {
  sshd = await startSshd();
  base = tempDir('diffship-ssh-peek-');
});
afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(base, { recursive: true, force: true });
});
beforeEach(async () => {
  root = path.join(base, `r${counter++}`);
  fs.mkdirSync(root);
  t = new SshTransport(sshd.sshOptions(), root);
  await t.connect();
});
afterEach(async () => {
  await t.close();
});

const at = (rel: string) => path.join(root, rel);

describe('ssh peek', () => {
  it('answers lstat, bytes and names at once, never through a link, a FIFO or past 1 MiB', async () => {
    fs.writeFileSync(at('state.json'), '{"release":"a"}\n', { mode: 0o640 });
    fs.mkdirSync(at('d'));
    for (const name of HOSTILE) fs.writeFileSync(path.join(root, 'd', name), name);
    fs.writeFileSync(at('d/f'), 'in d');
    fs.symlinkSync('state.json', at('link'));
    fs.symlinkSync('d', at('ld'));
    execFileSync('mkfifo', [at('fifo')]);
    fs.writeFileSync(at('big'), Buffer.alloc(1024 * 1024 + 1, 7));
    fs.writeFileSync(at('edge'), Buffer.alloc(1024 * 1024, 8));
    fs.writeFileSync(at('empty'), '');
    const paths = [
      'state.json',
      'd',
      'link',
      'ld',
      'ld/f',
      'fifo',
      'big',
      'edge',
      'empty',
      'nope',
      'state.json/x',
    ];
    const seen = await t.peek(paths, paths);
    expect(seen).not.toBeNull();
    const get = (p: string) => seen!.get(p);
    expect(get('state.json')!.entry).toMatchObject({ type: 'file', mode: 0o640, size: 16 });
    expect(get('state.json')!.data!.toString()).toBe('{"release":"a"}\n');
    expect(get('d')!.names!.sort()).toEqual([...HOSTILE, 'f'].sort());
    // A link is reported as one: neither its target's bytes nor its folder's names.
    expect(get('link')).toEqual({ entry: expect.objectContaining({ type: 'symlink' }) });
    expect(get('ld')).toEqual({ entry: expect.objectContaining({ type: 'symlink' }) });
    // A path through a link: lstat as SFTP gives it, but nothing read through the link.
    expect(get('ld/f')).toEqual({ entry: expect.objectContaining({ type: 'file', size: 4 }) });
    expect(get('fifo')).toEqual({ entry: expect.objectContaining({ type: 'other' }) });
    expect(get('big')).toEqual({ entry: expect.objectContaining({ type: 'file', size: 1024 * 1024 + 1 }) });
    expect(get('edge')!.data!.equals(Buffer.alloc(1024 * 1024, 8))).toBe(true);
    expect(get('empty')!.data!.length).toBe(0);
    expect(get('nope')).toEqual({ entry: null });
    expect(get('state.json/x')).toEqual({ entry: null });
  });

  it('reads the paths named as files raw, in the same round trip: the same bytes, never through a link, a FIFO or past 1 MiB', async () => {
    const manifest = Buffer.from(Array.from({ length: 3000 }, (_, i) => `line ${i}\n`).join(''));
    fs.writeFileSync(at('m.tsv'), manifest);
    fs.writeFileSync(at('target'), 'outside');
    fs.symlinkSync('target', at('link'));
    execFileSync('mkfifo', [at('fifo')]);
    fs.writeFileSync(at('big'), Buffer.alloc(1024 * 1024 + 1, 7));
    fs.writeFileSync(at('edge'), Buffer.alloc(1024 * 1024, 8));
    fs.writeFileSync(at('empty'), '');
    fs.writeFileSync(at('hex'), 'read as the peek reads');
    const files = ['m.tsv', 'link', 'fifo', 'big', 'edge', 'empty', 'nope'];
    const paths = [...files, 'hex'];
    const seen = await t.peek(paths, paths, files);
    const get = (p: string) => seen!.get(p);
    expect(get('m.tsv')!.data!.equals(manifest)).toBe(true);
    expect(get('edge')!.data!.equals(Buffer.alloc(1024 * 1024, 8))).toBe(true);
    expect(get('empty')!.data!.length).toBe(0);
    expect(get('hex')!.data!.toString()).toBe('read as the peek reads');
    expect(get('link')).toEqual({ entry: expect.objectContaining({ type: 'symlink' }) });
    expect(get('fifo')).toEqual({ entry: expect.objectContaining({ type: 'other' }) });
    expect(get('big')).toEqual({ entry: expect.objectContaining({ type: 'file', size: 1024 * 1024 + 1 }) });
    expect(get('nope')).toEqual({ entry: null });
    // Served to the read that follows, as any peeked file.
    fs.writeFileSync(at('m.tsv'), 'changed behind the transport');
    expect((await t.readFile('m.tsv')).equals(manifest)).toBe(true);
  });

  it('serves what it saw until the transport changes the path, a folder in it or runs a command', async () => {
    fs.writeFileSync(at('state.json'), 'old');
    fs.mkdirSync(at('m'));
    fs.writeFileSync(at('m/a.tsv'), 'a');
    await t.peek(['state.json', 'm', 'gone'], ['state.json', 'm']);
    // Changed behind the transport's back: the peeked answers are served.
    fs.writeFileSync(at('state.json'), 'changed meanwhile');
    fs.writeFileSync(at('m/b.tsv'), 'b');
    fs.writeFileSync(at('gone'), 'now here');
    expect((await t.readFile('state.json')).toString()).toBe('old');
    expect((await t.lstat('state.json'))!.size).toBe(3);
    expect(await t.readdir('m')).toEqual(['a.tsv']);
    expect(await t.lstat('gone')).toBeNull();
    // The transport's own changes: the state replaced by rename, a file written into m.
    await t.writeFile('state.json.tmp', Buffer.from('new state'), 0o644);
    await t.rename('state.json.tmp', 'state.json');
    await t.writeFile('m/c.tsv', Buffer.from('c'), 0o644);
    expect((await t.readFile('state.json')).toString()).toBe('new state');
    expect((await t.readdir('m'))!.sort()).toEqual(['a.tsv', 'b.tsv', 'c.tsv']);
    // Untouched by the transport: still served, until any command runs.
    expect(await t.lstat('gone')).toBeNull();
    await t.exec('true');
    expect((await t.lstat('gone'))!.size).toBe(8);
  });

  it('never serves bytes a write running alongside has replaced, whichever reaches the host first', async () => {
    for (let i = 0; i < 10; i++) {
      fs.writeFileSync(at('a'), `before ${i}`);
      const write = () => t.writeFile('a', Buffer.from(`after ${i}`), 0o644);
      const peek = () => t.peek(['a'], ['a']);
      const [first] = await Promise.all(i % 2 === 0 ? [peek(), write()] : [write(), peek()]);
      if (i % 2 === 0)
        expect([`before ${i}`, `after ${i}`, undefined]).toContain(first?.get('a')?.data?.toString());
      expect((await t.readFile('a')).toString()).toBe(`after ${i}`);
    }
  });

  it('without the file helper: peeks nothing and every read goes to the host', async () => {
    const sftpOnly = new SshTransport(sshd.sshOptions(), root, undefined, { bulkOps: false });
    await sftpOnly.connect();
    try {
      fs.writeFileSync(at('s'), 'one');
      expect(await sftpOnly.peek(['s'], ['s'])).toBeNull();
      fs.writeFileSync(at('s'), 'two');
      expect((await sftpOnly.readFile('s')).toString()).toBe('two');
    } finally {
      await sftpOnly.close();
    }
  });

  it('refuses an answer that is not one, whole', () => {
    expect(parsePeekPayload('-', ['a', 'b'])).toBeNull();
    expect(parsePeekPayload('33188,1,0,0,0,fzz', ['a'])).toBeNull();
    expect(parsePeekPayload('33188,1,0,0,0 garbage', ['a', 'b'])).toBeNull();
    // Bytes claimed for a folder, names for a file: not served.
    const odd = parsePeekPayload('16877,0,0,0,0,f61 33188,1,0,0,0,d61 !', ['a', 'b', 'c'])!;
    expect(odd.get('a')).toEqual({ entry: expect.objectContaining({ type: 'dir' }) });
    expect(odd.get('b')).toEqual({ entry: expect.objectContaining({ type: 'file' }) });
    expect(odd.has('c')).toBe(false);
  });
});
