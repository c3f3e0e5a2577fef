/**
 * Bounds for "promptly" on a loaded 2-core machine. A test that checks that a
 * command is stopped (timeout, cancellation, a dropped link) runs one that
 * would take 30 s: any bound well under that still fails when the stop is
 * missing, without failing when the machine is merely slow.
 */
export const PROMPTLY_MS = 10_000;
