/**
 * diffship's public API (`import { … } from 'diffship'`). Re-exports only:
 * importing this module has no side effects and never loads the CLI or the
 * GitHub Action (no @actions/* in its import graph). See docs/library.md.
 */

// Diff engine: the change set between two releases.
export * from './diff/index.js';

// Config: load and validate diffship.yml, or build one in code.
export { loadConfig, parseConfigText, type LoadOptions } from './config/load.js';
export { resolveConfig, DEFAULTS, type ResolveOptions } from './config/resolve.js';
export { withOverrides, type ConfigOverrides } from './config/overrides.js';
export { configJsonSchema, SCHEMA_URL } from './config/json-schema.js';
export type {
  CheckSpec,
  CountOrPercent,
  HookSpec,
  Mode,
  OnDrift,
  ResolvedConfig,
  RollbackPolicy,
  SshOptions,
  TargetConfig,
  TargetHooks,
} from './config/types.js';

// Rollouts: plan, deploy and roll back a fleet; look at what targets hold.
export { plan, deploy, rollback, type CommandOptions } from './api.js';
export { rollout, type RolloutOptions } from './rollout/rollout.js';
export type { RolloutEvent } from './rollout/events.js';
export { status, type StatusOptions, type TargetStatusInfo } from './rollout/status.js';
export { unlock, describeUnlock, type UnlockOptions, type UnlockResult } from './rollout/unlock.js';

// Building blocks of a rollout (docs/hooks-and-checks.md, "For library users").
export { splitWaves, batchSize, maxFailuresReached } from './rollout/waves.js';
export { runHook, hookEnv, type HookContext, type HookEnvValues, type HookResult } from './rollout/hooks.js';
export {
  runCheck,
  runChecks,
  checkLabel,
  type CheckContext,
  type CheckResult,
  type ChecksResult,
} from './rollout/checks/index.js';

// Report (SPEC §5): the value every command returns, and its terminal table.
export type {
  RenamedPath,
  Report,
  RolloutStatus,
  StepName,
  StepReport,
  StepStatus,
  TargetChanges,
  TargetReport,
  TargetStatus,
} from './report/types.js';
export { renderSummary } from './report/terminal.js';
export { writeReportFile } from './report/write.js';

// Advanced: one target's atomic deploy engine, and the transports under it.
export { TargetSession, type ApplyResult, type SessionOptions } from './apply/session.js';
export { newDeployId } from './apply/deploy-id.js';
export { KEEP_BACKUPS } from './apply/backup.js';
export type { ApplyProgress } from './apply/progress.js';
export type { PlanOptions } from './observe/plan-target.js';
export type { TargetState } from './apply/state.js';
export { describeLock, type LockInfo } from './apply/lock.js';
export { parseManifest } from './apply/manifest.js';
export { parseManifestText } from './apply/manifest-text.js';
export {
  MANIFEST_VERSION,
  type FileStat,
  type Manifest,
  type ManifestEntry,
  type ManifestMode,
} from './plan/manifest-types.js';
export { unchangedSince } from './plan/stat-cache.js';
export { buildRelease, type BuiltRelease, type BuildOptions } from './diff/build-release.js';
export type { DeleteOp, DriftItem, KeptFile, TargetPlan, WriteOp } from './plan/types.js';
export { createTransport } from './transport/factory.js';
export type {
  Entry,
  EntryType,
  ExecOptions,
  ExecResult,
  HashOptions,
  KeepItem,
  Kept,
  Transport,
  WalkEntry,
  WalkOptions,
  WriteOptions,
} from './transport/transport.js';

// Logging and errors.
export { maskSecrets, silentLogger, type Logger, type LogLevel } from './log.js';
export {
  DiffshipError,
  ConfigError,
  GitError,
  TransportError,
  exitCodeFor,
  describeError,
  type ErrorCode,
} from './errors.js';
export { ConfigValidationError, type ConfigProblem } from './config/problems.js';
