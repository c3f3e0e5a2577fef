/**
 * A manifest file's lines one at a time, with their paths, unparsed: the SSH
 * look (observe-look.ts) compares most lines in place and parses only those it
 * uses otherwise. The order is checked here (strictly increasing paths in byte
 * order, so no path is listed twice); the fields by whoever uses a line.
 */
import { BadLine, linePath, stateError } from '../apply/manifest-text.js';
import { manifestChunks } from '../apply/manifest-chunks.js';
import { bufferSource } from '../apply/manifest-source.js';
import { byteOrder, SURROGATE } from '../byte-order.js';

export interface ManifestLine {
  path: string;
  /** The line without its newline. */
  text: string;
  /** The path is written as a JSON string (an odd name): the file helper never matches it. */
  quoted: boolean;
}

/** @throws DiffshipError E_STATE naming `where` and the first bad line, when reached. */
export function* manifestLines(data: Buffer, where: string): Generator<ManifestLine, undefined> {
  let last: string | null = null;
  let lastPlain = true;
  let lineNo = 1;
  for (const text of manifestChunks(bufferSource(data), where)) {
    const plain = !SURROGATE.test(text);
    for (let from = 0; from <= text.length;) {
      let to = text.indexOf('\n', from);
      if (to < 0) to = text.length;
      lineNo++;
      const line = text.slice(from, to);
      let path: string;
      try {
        path = linePath(line);
        if (last !== null && (plain && lastPlain ? last >= path : byteOrder(last, path) >= 0))
          throw new BadLine(`lists ${JSON.stringify(path)} out of order or twice`);
      } catch (error) {
        if (!(error instanceof BadLine)) throw error;
        throw stateError(where, `line ${lineNo} ${error.message}`);
      }
      last = path;
      lastPlain = plain;
      // Unquoted, the path is the line's end right after its third tab (a quoted one holds no tab).
      yield { path, text: line, quoted: line.charCodeAt(line.length - path.length - 1) !== 0x09 };
      from = to + 1;
    }
  }
  return undefined;
}
