/**
 * The live progress block as a person sees it: `diffship demo` (the built
 * CLI) on a real terminal, tmux, at 80×24 and 120×40. The screen is captured
 * while it runs and at the end, and checked for what goes wrong when redraw
 * arithmetic is off: lines wider than the pane (they wrap, and the block then
 * erases lines above it), stale duplicate rows, a line printed before the block
 * gone, targets that never started left as `waiting`.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/git.js';

const socket = `diffship-test-${process.pid}`;
const tmux = (...args: string[]) =>
  execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env: tmuxEnv() });
const dirs: string[] = [];

function tmuxEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
  delete env.NO_COLOR;
  delete env.FORCE_COLOR;
  delete env.TMUX;
  return env;
}

afterAll(() => {
  try {
    tmux('kill-server');
  } catch {
    // already gone
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The whole pane, history included; `joined`: wrapped lines joined back (their true length). */
const capture = (session: string, joined = false) =>
  tmux('capture-pane', '-p', ...(joined ? ['-J'] : []), '-S', '-', '-t', session)
    .split('\n')
    .map((l) => l.trimEnd());

/** Screen width of a line (the demo prints box drawing and arrows: one column each). */
const columns = (line: string) => [...line].length;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The rows of the last live block on screen: from its header to the summary table (or the end). */
function lastBlock(lines: string[]): string[] {
  const start = lines.findLastIndex((l) => /^deploy \d{8}T\d+Z-[0-9a-f]+ · release /.test(l));
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && l.startsWith('TARGET'));
  return lines.slice(start, end < 0 ? undefined : end).filter((l) => l !== '');
}

async function runDemo(width: number, height: number): Promise<{ lines: string[]; joined: string[] }> {
  const session = `demo-${width}`;
  const dir = path.join(tempDir('diffship-live-'), 'demo');
  dirs.push(path.dirname(dir));
  const command = `echo PRINTED-BEFORE; ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} demo --dir ${JSON.stringify(dir)}; echo "EXIT=$?"; sleep 300`;
  tmux('new-session', '-d', '-s', session, '-x', String(width), '-y', String(height), command);
  const deadline = Date.now() + 110_000;
  let samples = 0;
  for (;;) {
    const screen = capture(session);
    if (screen.some((l) => l.startsWith('EXIT='))) break;
    if (Date.now() > deadline) throw new Error(`the demo did not end:\n${screen.join('\n')}`);
    // Mid-run: the block on screen never shows a target twice (a stale copy of a redrawn row).
    const rows = lastBlock(screen).filter((l) => /^ {2}\S host-[abc] /.test(l));
    const names = rows.map((l) => l.slice(4, 10));
    expect(new Set(names).size, `duplicate rows mid-run at ${width} columns:\n${screen.join('\n')}`).toBe(
      names.length,
    );
    samples++;
    await sleep(150);
  }
  expect(samples).toBeGreaterThan(3);
  return { lines: capture(session), joined: capture(session, true) };
}

const SIZES: Array<[number, number]> = [
  [80, 24],
  [120, 40],
];
/** Both demos run at once, each in its own tmux session: the file takes one demo's time, not two. */
const demos = new Map<number, ReturnType<typeof runDemo>>();
beforeAll(() => {
  for (const [width, height] of SIZES) {
    const run = runDemo(width, height);
    run.catch(() => undefined); // told by the test that awaits it
    demos.set(width, run);
  }
});

describe.each(SIZES)('the live display at %i×%i (tmux)', (width) => {
  it('keeps to the screen, never erases lines above it, and ends showing skipped targets as skipped', async () => {
    const { lines, joined } = await demos.get(width)!;
    const text = lines.join('\n');
    expect(lines).toContain('EXIT=0');

    // A line printed before the demo, and the narration before each block, are still there.
    expect(lines[0]).toBe('PRINTED-BEFORE');
    for (const l of [
      '$ diffship deploy --repo repo --to v1 --waves 100% --max-parallel 3',
      '$ diffship deploy --repo repo --to v2',
      '$ diffship deploy --repo repo --to v3',
      'returns it to service. max-failures is 0, so the second wave never starts.',
    ]) {
      expect(
        lines.filter((x) => x === l),
        `${l} once in:\n${text}`,
      ).toHaveLength(1);
    }

    // No line, live or not, was wider than the pane (a wider one wraps: -J joins it back).
    const wide = joined.filter((l) => columns(l) > width);
    expect(wide, `lines wider than ${width}:\n${wide.join('\n')}`).toEqual([]);

    // Each rollout's final frame: header, then exactly its waves and rows, once.
    const headers = lines.flatMap((l, i) => (/^deploy \S+ · release [0-9a-f]{12}$/.test(l) ? [i] : []));
    expect(headers, text).toHaveLength(6); // v1, v2, v3, then the three package deploys
    const block = (n: number) => {
      const end = lines.findIndex((l, i) => i > headers[n]! && l.startsWith('TARGET'));
      return lines.slice(headers[n]! + 1, end);
    };
    expect(block(0).map((l) => l.slice(0, 10))).toEqual(['wave 1', '  ✓ host-a', '  ✓ host-b', '  ✓ host-c']);
    expect(block(1).map((l) => l.slice(0, 10))).toEqual([
      'wave 1',
      '  ✓ host-a',
      'wave 2',
      '  ✓ host-b',
      '  ✓ host-c',
    ]);
    const v3 = block(2);
    expect(v3.map((l) => l.slice(0, 10))).toEqual([
      'wave 1',
      '  ✗ host-a',
      'wave 2',
      '  - host-b',
      '  - host-c',
    ]);
    expect(v3[1]).toMatch(/^ {2}✗ host-a +rolled-back +verify: FAILED/);
    expect(v3[3]).toMatch(/^ {2}- host-b +skipped +not started$/);
    expect(v3[4]).toMatch(/^ {2}- host-c +skipped +not started$/);
    expect(text).not.toContain('waiting');
    // The halt warning went above the block and stayed.
    const halt = lines.findIndex((l) => l.startsWith('halt: 1 target(s) failed'));
    expect(halt).toBeGreaterThan(lines.indexOf('$ diffship deploy --repo repo --to v3'));
    expect(halt).toBeLessThan(headers[2]!);

    // The summary table fits 80 columns whatever the terminal.
    const tables = lines.flatMap((l, i) => (l.startsWith('TARGET') ? [i] : []));
    expect(tables).toHaveLength(6); // v1, v2, v3, then the three package deploys
    for (const t of tables)
      for (let i = t; lines[i] !== ''; i++) expect(columns(lines[i]!)).toBeLessThanOrEqual(80);
    // Under the v3 table: host-a's whole error, wrapped, never cut.
    expect(text).toMatch(/host-a rolled-back: verify: FAILED http GET http:\/\/127\.0\.0\.1:\d+\/health/);
  }, 150_000);
});
