import { describe, expect, it } from 'vitest';
import { createPathFilter } from '../../src/diff/filter.js';
import { IGNORE_FILE, parseIgnoreFile } from '../../src/diff/ignore.js';

describe('createPathFilter', () => {
  it('keeps everything but the ignore file by default', () => {
    const keep = createPathFilter({});
    expect(['a', '.hidden', 'x/.y/z', '-rf', '[a]*?.json'].every(keep)).toBe(true);
    expect(keep(IGNORE_FILE)).toBe(false);
    // Only the one at the top of the source folder is special.
    expect(keep(`sub/${IGNORE_FILE}`)).toBe(true);
  });

  it('matches dot files and lets exclude win over include', () => {
    const keep = createPathFilter({ include: ['**/*.json'], exclude: ['**/*.draft.json'] });
    expect(keep('.config.json')).toBe(true);
    expect(keep('.a/b.json')).toBe(true);
    expect(keep('x.xml')).toBe(false);
    expect(keep('a/x.draft.json')).toBe(false);
  });

  it('treats a pattern ending in / as the whole folder', () => {
    const keep = createPathFilter({ exclude: ['local/'] });
    expect(keep('local/a')).toBe(false);
    expect(keep('local/.b/c')).toBe(false);
    expect(keep('locale/a')).toBe(true);
  });

  it('applies glob metacharacters as globs, to names that contain them literally too', () => {
    const keep = createPathFilter({ exclude: ['\\[a\\]\\*\\?.json'] });
    expect(keep('[a]*?.json')).toBe(false);
    expect(keep('a.json')).toBe(true);
  });
});

describe('parseIgnoreFile', () => {
  it('reads patterns, skipping comments and blank lines, with CRLF and a BOM', () => {
    const text = '\uFEFF# drafts\r\n*.draft.xml\r\n\r\n  local/  \r\n\\#literal\r\nlast';
    expect(parseIgnoreFile(text)).toEqual(['*.draft.xml', 'local/', '\\#literal', 'last']);
  });

  it('accepts old Mac line endings and an empty file', () => {
    expect(parseIgnoreFile('a\rb\r')).toEqual(['a', 'b']);
    expect(parseIgnoreFile('')).toEqual([]);
  });

  it('refuses negation with the line number', () => {
    expect(() => parseIgnoreFile('a\n!keep.json\n')).toThrow(
      expect.objectContaining({ code: 'E_CONFIG', message: expect.stringContaining('line 2') }),
    );
  });
});
