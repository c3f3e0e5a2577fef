/**
 * Read diffship.yml from disk: YAML with line numbers for every problem, then
 * resolveConfig. YAML errors say `file:line:col: message`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError } from '../errors.js';
import { withOverrides, type ConfigOverrides } from './overrides.js';
import { displayFile, type KeyPath } from './problems.js';
import { resolveWithLocator, type Locator } from './resolve.js';
import type { ResolvedConfig } from './types.js';

export { withOverrides } from './overrides.js';

export interface LoadOptions {
  /** Environment for `${VAR}` and ssh defaults (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Flag values that win over the file (`--mode`, `--waves`, …). */
  overrides?: ConfigOverrides;
}

/** YAML text → plain value and a locator for key paths. Throws ConfigError on a syntax error. */
export function parseConfigText(text: string, file?: string): { value: unknown; locate: Locator } {
  const label = displayFile(file) ?? 'config';
  const lineCounter = new LineCounter();
  // merge: YAML 1.1 `<<: *anchor` is how people share blocks between targets.
  const doc = parseDocument(text, { lineCounter, merge: true, uniqueKeys: true, prettyErrors: false });
  const error = doc.errors[0];
  if (error) {
    const pos = lineCounter.linePos(error.pos[0]);
    const oneLine =
      error.code === 'MULTIPLE_DOCS'
        ? 'more than one YAML document: a config file holds one (remove the "---" line)'
        : error.message
            .split('\n')[0]!
            .replace(/ at line \d+, column \d+:?$/, '')
            .trim();
    throw new ConfigError(`${label}:${pos.line}:${pos.col}: ${oneLine}`, { cause: error });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (cause) {
    throw new ConfigError(`${label}: ${(cause as Error).message}`, { cause });
  }
  const locate: Locator = (keys) => {
    const offset = offsetOf(doc, keys);
    if (offset === undefined) return undefined;
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  return { value, locate };
}

/** Start offset of the deepest node on `keys` (the key itself for a map entry). */
function offsetOf(doc: Document, keys: KeyPath): number | undefined {
  let node: unknown = doc.contents;
  let best = (node as Node | null)?.range?.[0];
  for (const key of keys) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? p.key.value : p.key) === key);
      if (!pair) break;
      best = (pair.key as Node | null)?.range?.[0] ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      if (!node) break;
      best = (node as Node).range?.[0] ?? best;
    } else break;
  }
  return best;
}

/**
 * Load, validate and resolve a config file (SPEC §2). Relative target paths
 * resolve against the file's folder. Throws ConfigError (a ConfigValidationError
 * listing every problem, when the YAML is fine but the keys are not).
 *
 * @example const config = await loadConfig('diffship.yml', { overrides: { mode: 'authoritative' } });
 */
export async function loadConfig(file: string, options: LoadOptions = {}): Promise<ResolvedConfig> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = await fs.readFile(abs, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError(`${path.basename(abs)} not found at ${abs} — create it or pass --config <file>`, {
        cause,
      });
    }
    if (code === 'EISDIR') throw new ConfigError(`${abs} is a folder — pass --config <file>`, { cause });
    throw new ConfigError(`cannot read config ${abs}: ${code ?? String(cause)}`, { cause });
  }
  const { value, locate } = parseConfigText(text, abs);
  const env = options.env ?? process.env;
  const config = resolveWithLocator(value, { file: abs, env }, locate);
  return options.overrides ? withOverrides(config, options.overrides) : config;
}
