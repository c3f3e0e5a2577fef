/**
 * `${ENV_VAR}` expansion over every string value of a parsed config, before
 * validation (so `port: ${SSH_PORT}` is checked like a written port).
 *
 * - `${NAME}` is the variable's value; unset is an error naming the key path.
 * - `${NAME:-fallback}` is the fallback when NAME is unset or empty.
 * - `$${NAME}` is the literal text `${NAME}` (for a shell in a hook).
 * - Anything else (`$NAME`, `${#x}`, `${x%.txt}`) is left as written.
 *
 * Keys are never expanded, only values.
 */
import { formatKeyPath, type ConfigProblem, type KeyPath } from './problems.js';

const REFERENCE = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Variables whose names look like they hold a secret; their values are masked in logs. */
const SECRET_NAME = /KEY|SECRET|TOKEN|PASS|CREDENTIAL/i;

export interface EnvExpansion<T = unknown> {
  value: T;
  /** Expanded values of secret-looking variables. */
  secrets: string[];
  /** Unset variables, one problem each. */
  problems: ConfigProblem[];
}

/** Expand `${NAME}` references in one string. Unset names are reported through `onUnset`. */
function expandEnvString(
  text: string,
  env: NodeJS.ProcessEnv,
  onUnset: (name: string) => void,
  onSecret: (value: string) => void = () => {},
): string {
  return text.replace(REFERENCE, (whole, escape: string, name: string, fallback: string | undefined) => {
    if (escape) return whole.slice(1);
    const value = env[name];
    if (fallback !== undefined && (value === undefined || value === '')) return fallback;
    if (value === undefined) {
      onUnset(name);
      return '';
    }
    if (SECRET_NAME.test(name) && value) onSecret(value);
    return value;
  });
}

/**
 * Expand every string value of `raw` (objects and lists walked, keys kept).
 *
 * @example expandEnv({ host: '${HOST}' }, { HOST: 'a' }).value // { host: 'a' }
 */
export function expandEnv<T = unknown>(raw: T, env: NodeJS.ProcessEnv): EnvExpansion<T> {
  const secrets: string[] = [];
  const problems: ConfigProblem[] = [];
  const walk = (value: unknown, at: KeyPath): unknown => {
    if (typeof value === 'string') {
      return expandEnvString(
        value,
        env,
        (name) => {
          const where = formatKeyPath(at);
          problems.push({ path: where, keys: at, message: `environment variable ${name} is not set` });
        },
        (secret) => secrets.push(secret),
      );
    }
    if (Array.isArray(value)) return value.map((item, i) => walk(item, [...at, i]));
    if (isPlainObject(value)) {
      const out: Record<string, unknown> = {};
      // defineProperty: a `__proto__` key in the file stays a key, never a prototype.
      for (const [key, item] of Object.entries(value)) {
        Object.defineProperty(out, key, {
          value: walk(item, [...at, key]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    return value;
  };
  return { value: walk(raw, []) as T, secrets: [...new Set(secrets)], problems };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
