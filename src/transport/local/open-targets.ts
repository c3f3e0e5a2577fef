// How many local targets this process has open at once: it picks, for the calls that change
// a folder (create, rename, link, unlink, mkdir), between node:fs's synchronous API and its
// threadpool.
//
// One target: a synchronous call costs 3–6× less than the threadpool's round trip, which
// dominates a 50,000-file deploy. Several at once (a fleet): the event loop is what every
// target waits on, and such a call can wait for the file system's journal, which the other
// targets' fsyncs keep committing; made synchronously, that wait stops every other target.
// So while more than one target is open, those calls go to the threadpool (16 threads in the
// CLI and the Action: src/threadpool-size.ts). Reads stay synchronous.

let open = 0;

/** One local target more (connect) or fewer (close) in this process. */
export function countOpenTarget(delta: 1 | -1): void {
  open += delta;
}

/** True while more than one local target is open: calls that change a folder leave the event loop. */
export const severalTargetsOpen = (): boolean => open > 1;
