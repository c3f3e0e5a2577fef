/** Progress of one target's apply, step by step: the rollout's events carry it to the CLI and the action. */
export interface ApplyProgress {
  phase: 'stage' | 'verify' | 'backup' | 'commit' | 'delete';
  done: number;
  total: number;
  bytes: number;
}
