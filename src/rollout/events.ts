/** Progress events of a rollout: the CLI's live view and the action's log groups listen to them. */
import type { StepReport, TargetReport } from '../report/types.js';
import type { ApplyProgress } from '../apply/progress.js';

export type RolloutEvent =
  | {
      type: 'start';
      deployId: string;
      to: string;
      waves: string[][];
      /** What runs, for headers (optional for older listeners' sake). */
      command?: 'plan' | 'deploy' | 'rollback';
    }
  | { type: 'wave-start'; wave: number; targets: string[] }
  | { type: 'target-start'; target: string; wave: number }
  | { type: 'step-start'; target: string; step: StepReport['name'] }
  | { type: 'step-end'; target: string; step: StepReport }
  | { type: 'progress'; target: string; progress: ApplyProgress }
  | { type: 'check-attempt'; target: string; check: string; attempt: number; message: string }
  | { type: 'log'; target?: string; level: 'info' | 'warn'; message: string }
  | { type: 'target-end'; target: TargetReport }
  | { type: 'wave-end'; wave: number }
  | { type: 'halt'; reason: string };
