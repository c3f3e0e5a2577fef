/**
 * Live lines that never wrap. A redrawn block must know exactly how many
 * screen rows it takes, or redrawing it moves the cursor into the lines
 * printed above it (and leaves stale copies of its own lines). So every live
 * line is cut to the terminal's width before it is coloured, measuring what
 * the terminal shows (wide characters count two columns).
 */
import stringWidth from 'string-width';

/** A piece of a line and how to colour it. */
export type Segment = readonly [text: string, paint?: (s: string) => string];

const graphemes = new Intl.Segmenter();

/**
 * Join `segments` into one line at most `width` columns wide: when it is
 * longer, the text is cut and ends with `…`. Colours are applied after the cut,
 * so escape codes are never split.
 */
export function fitLine(segments: readonly Segment[], width: number): string {
  const max = Math.max(1, width);
  const total = segments.reduce((sum, [text]) => sum + stringWidth(text), 0);
  let room = total <= max ? max : max - 1; // keep a column for the ellipsis
  let out = '';
  for (const [text, paint] of segments) {
    if (room <= 0) break;
    let kept = '';
    for (const { segment } of graphemes.segment(text)) {
      const w = stringWidth(segment);
      if (w > room) {
        room = 0;
        break;
      }
      kept += segment;
      room -= w;
    }
    out += paint && kept ? paint(kept) : kept;
  }
  return total <= max ? out : `${out}…`;
}
