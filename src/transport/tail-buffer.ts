/**
 * Keeps the last `max` bytes written to it: how command output is captured,
 * on this machine and over SSH alike. Every reader of command output reads its
 * end (the report's trimOutput, a check's last line, the debug log's last
 * lines; errors come last), so the start is what a long output loses.
 */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private readonly max: number;
  truncated = false;
  constructor(max: number) {
    this.max = max;
  }
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      const excess = this.size - this.max;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
      this.truncated = true;
    }
  }
  text(): string {
    let body = Buffer.concat(this.chunks);
    if (!this.truncated) return body.toString('utf8');
    // The cut may fall inside a character: start at the next whole one.
    let start = 0;
    while (start < body.length && (body[start]! & 0xc0) === 0x80) start++;
    body = body.subarray(start);
    return `[… earlier output dropped]\n${body.toString('utf8')}`;
  }
}
