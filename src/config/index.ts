/** The config layer: load, validate and resolve diffship.yml (SPEC §2). Re-exports only. */
export { loadConfig, parseConfigText, type LoadOptions } from './load.js';
export { resolveConfig, DEFAULTS, type ResolveOptions } from './resolve.js';
export { withOverrides, type ConfigOverrides } from './overrides.js';
export { parseDuration, durationMs } from './duration.js';
export { expandEnv, expandEnvString, SECRET_NAME } from './env.js';
export {
  checkPlaceholders,
  expandPlaceholders,
  findPlaceholders,
  PLACEHOLDER_NAMES,
  type PlaceholderContext,
  type PlaceholderTarget,
} from './placeholders.js';
export { ConfigValidationError, formatKeyPath, formatProblem, type ConfigProblem } from './problems.js';
export { configJsonSchema, SCHEMA_URL } from './json-schema.js';
export { ConfigFile, Target, Check, Duration, CountOrPercent as CountOrPercentSchema } from './schema.js';
export type * from './types.js';
