/** Limits shared by every command runner: local processes and SSH exec channels. */

/**
 * Output kept per stream: the last this many bytes. Every reader of command
 * output reads its end (the report's trimOutput, a check's last line, the debug
 * log's last lines; errors come last), so the start is what is dropped.
 */
export const OUTPUT_CAP = 1024 * 1024;
/** Time between TERM and KILL when a command is stopped. */
export const KILL_GRACE_MS = 2000;
