/**
 * diffship's public API. Re-exports only: importing this module has no side
 * effects and never loads the CLI or the GitHub Action.
 */
export * from './diff/index.js';
export {
  DiffshipError,
  ConfigError,
  GitError,
  TransportError,
  exitCodeFor,
  describeError,
} from './errors.js';
export type { ErrorCode } from './errors.js';
