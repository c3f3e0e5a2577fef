/**
 * Placeholders in hooks and checks: `{name}`, `{host}`, `{port}`, `{path}`,
 * `{vars.X}`, `{release}` (the SHA being shipped) and `{previous}` (the SHA the
 * target held before, empty for a first deploy).
 *
 * Only `{identifier}` and `{vars.identifier}` are placeholders (identifier:
 * letters, digits, `_`, starting with a letter or `_`; var names may also hold
 * `-`), and not when preceded by `$`. So JSON (`{"a":1}`), shell brace
 * expansion (`{a,b}`), regex counts (`\d{3}`), `find -exec {} \;`, `{ print }`
 * with spaces, and shell variables (`${HOME}`, from `$${HOME}` in the file) are
 * left alone. Values are inserted as they are, without shell quoting.
 *
 * The resolved config keeps placeholders; the rollout expands them per target
 * at run time, when the release is known. `checkPlaceholders` refuses unknown
 * ones at load time, before anything runs.
 */
import { ConfigError } from '../errors.js';
import type { ConfigProblem } from './problems.js';
import { suggest } from './suggest.js';

const PLACEHOLDER =
  /(\$?)\{(?:vars\.([A-Za-z_][A-Za-z0-9_-]*)|([A-Za-z_][A-Za-z0-9_]*|unit\.(?:path|status)))\}/g;

/** `{unit}`, `{unit.path}`, `{unit.status}`: only in the hooks and checks of `units` (docs/units.md). */
export const UNIT_PLACEHOLDERS = ['unit', 'unit.path', 'unit.status'] as const;

/** The names a placeholder may have, besides `vars.X`. */
export const PLACEHOLDER_NAMES = ['name', 'host', 'port', 'path', 'release', 'previous'] as const;

/** What a target offers to placeholders. */
export interface PlaceholderTarget {
  name: string;
  port?: number;
  vars: Record<string, string>;
  /** True in `units` hooks and checks: `{unit}`, `{unit.path}`, `{unit.status}` are known. */
  units?: boolean;
}

/** Everything placeholders expand to, for one target and one deploy. */
export interface PlaceholderContext extends PlaceholderTarget {
  host: string;
  path: string;
  /** SHA being shipped. */
  release?: string;
  /** SHA the target held before; null or absent for a first deploy (expands to ""). */
  previous?: string | null;
  /** The unit a `units` hook or check runs for. */
  unit?: { name: string; path: string; status: string };
}

interface Found {
  token: string;
  /** Set for `{vars.X}`. */
  varName?: string;
  /** Set for `{name}` etc. */
  name?: string;
}

/** The placeholders in `text`, in order. */
export function findPlaceholders(text: string): Found[] {
  const out: Found[] = [];
  for (const match of text.matchAll(PLACEHOLDER)) {
    if (match[1]) continue;
    out.push(
      match[2] !== undefined ? { token: match[0], varName: match[2] } : { token: match[0], name: match[3]! },
    );
  }
  return out;
}

/** Why `found` is not a placeholder of `target`, or undefined when it is. */
function refusal(found: Found, target: PlaceholderTarget): string | undefined {
  if (found.varName !== undefined) {
    if (Object.hasOwn(target.vars, found.varName)) return undefined;
    const names = Object.keys(target.vars);
    const hint = suggest(found.varName, names);
    const known = names.length ? `its vars: ${names.join(', ')}` : 'it has no vars';
    return `unknown placeholder ${found.token}: target "${target.name}" has no var "${found.varName}"${
      hint ? ` — did you mean {vars.${hint}}?` : ` (${known})`
    }`;
  }
  const name = found.name!;
  if (name === 'port' && target.port === undefined) {
    return `placeholder {port}: target "${target.name}" has no port (set port: on the target)`;
  }
  if ((PLACEHOLDER_NAMES as readonly string[]).includes(name)) return undefined;
  if ((UNIT_PLACEHOLDERS as readonly string[]).includes(name)) {
    if (target.units) return undefined;
    return `placeholder ${found.token} works only in the hooks and checks of units (activate, deactivate, verify)`;
  }
  const hint = suggest(name, [...PLACEHOLDER_NAMES, 'vars']);
  if (hint)
    return `unknown placeholder ${found.token} — did you mean {${hint === 'vars' ? `vars.${name}` : hint}}?`;
  return `unknown placeholder ${found.token} (known: {name}, {host}, {port}, {path}, {vars.X}, {release}, {previous}; write { ${name} } with spaces for literal braces)`;
}

/**
 * Problems with the placeholders of `text` for `target` (empty when all are known).
 * Used at load time so `{vars.nope}` or `{typo}` fails before anything runs.
 *
 * @example checkPlaceholders('curl {host}:{vars.port}', 'defaults.before.run', { name: 'a', vars: {} })
 * // [{ path: 'defaults.before.run', message: 'unknown placeholder {vars.port}: target "a" has no var "port" (it has no vars)' }]
 */
export function checkPlaceholders(text: string, keyPath: string, target: PlaceholderTarget): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const found of findPlaceholders(text)) {
    const why = refusal(found, target);
    if (why) problems.push({ path: keyPath, message: why });
  }
  return problems;
}

/**
 * Replace the placeholders of `text` with the values of `ctx`. Throws a
 * ConfigError for an unknown placeholder, or for `{release}` without a release.
 *
 * @example expandPlaceholders('./lb drain {name}', { name: 'soup-a', host: 'a', path: '/x', vars: {} }) // './lb drain soup-a'
 */
export function expandPlaceholders(text: string, ctx: PlaceholderContext): string {
  return text.replace(
    PLACEHOLDER,
    (token, dollar: string, varName: string | undefined, name: string | undefined) => {
      if (dollar) return token;
      const found: Found = varName !== undefined ? { token, varName } : { token, name: name! };
      const why = refusal(found, ctx);
      if (why) throw new ConfigError(why);
      if (varName !== undefined) return ctx.vars[varName]!;
      switch (name) {
        case 'name':
          return ctx.name;
        case 'host':
          return ctx.host;
        case 'port':
          return String(ctx.port);
        case 'path':
          return ctx.path;
        case 'previous':
          return ctx.previous ?? '';
        case 'unit':
          return ctx.unit!.name;
        case 'unit.path':
          return ctx.unit!.path;
        case 'unit.status':
          return ctx.unit!.status;
        default:
          if (ctx.release === undefined)
            throw new ConfigError(`placeholder {release} used where no release is known`);
          return ctx.release;
      }
    },
  );
}
