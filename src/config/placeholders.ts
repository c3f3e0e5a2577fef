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
 * left alone. Values from the config (`{name}`, `{host}`, `{port}`, `{path}`,
 * `{vars.X}`) are inserted as they are, without shell quoting: the config is
 * trusted. Values from a release or a target (`{release}`, `{previous}`) are
 * inserted only when they are full hex object ids, which need no quoting in
 * any shell; anything else is refused (E_STATE), never inserted.
 *
 * The resolved config keeps placeholders; the rollout expands them per target
 * at run time, when the release is known. `checkPlaceholders` refuses unknown
 * ones at load time, before anything runs.
 */
import { ConfigError, DiffshipError } from '../errors.js';
import type { ConfigProblem } from './problems.js';
import { suggest } from './suggest.js';

const PLACEHOLDER =
  /(\$?)\{(?:vars\.([A-Za-z_][A-Za-z0-9_-]*)|([A-Za-z_][A-Za-z0-9_]*|unit\.(?:path|status)))\}/g;

/** `{unit}`, `{unit.path}`, `{unit.status}`: only in the hooks and checks of `units` (docs/units.md). */
const UNIT_PLACEHOLDERS = ['unit', 'unit.path', 'unit.status'] as const;

/** The names a placeholder may have, besides `vars.X`. */
const PLACEHOLDER_NAMES = ['name', 'host', 'port', 'path', 'release', 'previous'] as const;

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
  /** `--release-name`: what `{release}` shows instead of the id (one plain shell word). */
  releaseName?: string;
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

/** A full object id (40 or 64 lowercase hex digits): safe in any shell word, unquoted. */
const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * A `--release-name` (`build-77`, `v1.4.0`, `2026-12-01+rc1`): no character a shell
 * treats specially, so it too is safe unquoted. The CLI, the action and the library
 * refuse any other name before anything starts.
 */
export const RELEASE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+@:=-]{0,199}$/;

/** `value` (from a release or a target) when it is an object id; otherwise refuse to insert it. */
export function shellSafeId(value: string, token: string): string {
  if (OBJECT_ID.test(value)) return value;
  throw new DiffshipError(
    'E_STATE',
    `refusing to insert ${token}: its value is not a full object id (it came from a release or a target state) — run \`diffship status\`, or remove the state folder to redeploy from scratch`,
  );
}

/**
 * A unit's name or path comes from the release's file names: inserted only when a shell
 * reads it as one plain word (letters, digits, `. _ / + @ : = -`, not starting with `-`).
 */
const UNIT_WORD = /^[A-Za-z0-9._+@:=][A-Za-z0-9._/+@:=-]{0,254}$/;

function shellSafeUnit(value: string, token: string): string {
  if (UNIT_WORD.test(value)) return value;
  throw new DiffshipError(
    'E_UNITS',
    `refusing to insert ${token}: ${JSON.stringify(value)} is not one plain word (it comes from a file name of the release) — rename the unit's folder, or use DIFFSHIP_UNITS in the hook instead`,
  );
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
          return ctx.previous ? shellSafeId(ctx.previous, token) : '';
        case 'unit':
          return shellSafeUnit(ctx.unit!.name, token);
        case 'unit.path':
          return shellSafeUnit(ctx.unit!.path, token);
        case 'unit.status':
          return ctx.unit!.status;
        default:
          if (ctx.release === undefined)
            throw new ConfigError(`placeholder {release} used where no release is known`);
          if (ctx.releaseName !== undefined && RELEASE_NAME.test(ctx.releaseName)) return ctx.releaseName;
          return ctx.release === '' ? '' : shellSafeId(ctx.release, token);
      }
    },
  );
}
