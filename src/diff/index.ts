/** The diff engine's public surface (re-exported by src/index.ts). */
export { diffReleases } from './diff-releases.js';
export { writeDiffJson, type DiffJsonOptions, type DiffSummary } from './diff-json.js';
export { gitBlobId, type HashAlgorithm } from './blob.js';
export { SUBMODULE_MODE, SYMLINK_MODE } from './types.js';
export type {
  AddedChange,
  Change,
  ChangeCounts,
  ChangeStatus,
  DeletedChange,
  DiffOptions,
  DiffResult,
  GitMode,
  RenamedChange,
  UpdatedChange,
} from './types.js';
