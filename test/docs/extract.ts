/**
 * The fenced code blocks of a markdown file, for the docs test: language,
 * line, body, and whether a `<!-- docs-test: skip (reason) -->` comment right
 * before the block exempts it.
 */
export interface DocBlock {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  body: string;
  /** Set when the block is marked skipped; '' when marked without a reason. */
  skip?: string;
  /** The exit code the example ends with on purpose (`<!-- docs-test: exit 2 -->`); default 0. */
  exit: number;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/;
const SKIP = /^<!--\s*docs-test:\s*skip\s*(?:\((.*)\))?\s*-->$/;
const EXIT = /^<!--\s*docs-test:\s*exit\s+(\d+)\s*-->$/;

export function extractBlocks(file: string, text: string): DocBlock[] {
  const lines = text.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      if (l.trim().startsWith(fence!) && l.trim().replace(/[`~]/g, '') === '') break;
      body.push(l.startsWith(indent!) ? l.slice(indent!.length) : l.trimStart());
    }
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    const marker = k >= 0 ? SKIP.exec(lines[k]!.trim()) : null;
    const exit = k >= 0 ? EXIT.exec(lines[k]!.trim()) : null;
    blocks.push({
      file,
      line: i + 1,
      lang: lang!.toLowerCase(),
      body: body.join('\n'),
      exit: exit ? Number(exit[1]) : 0,
      ...(marker ? { skip: (marker[1] ?? '').trim() } : {}),
    });
    i = j;
  }
  return blocks;
}

export const SHELL = new Set(['sh', 'bash', 'shell', 'console']);
export const TYPESCRIPT = new Set(['ts', 'typescript']);
export const JAVASCRIPT = new Set(['js', 'javascript', 'mjs']);
