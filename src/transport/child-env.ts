/**
 * The environment a command diffship starts on this machine inherits (`run:`
 * hooks, `run:` command checks, `remote:` on a local target). diffship holds
 * keys for a whole fleet; a hook gets what it needs to do its job, not those.
 *
 * Removed unless the config's `pass-env` names them:
 * - the runner's credentials: `INPUT_*` (the action's inputs, the ssh key and
 *   the token among them), `ACTIONS_RUNTIME_TOKEN`/`_URL`, `ACTIONS_ID_TOKEN_REQUEST_*`,
 *   `ACTIONS_RESULTS_URL`, `ACTIONS_CACHE_URL` (and the other `ACTIONS_CACHE_*`);
 * - the runner's file commands (`GITHUB_ENV`, `GITHUB_PATH`, `GITHUB_OUTPUT`,
 *   `GITHUB_STATE`, `GITHUB_STEP_SUMMARY`): writing them would set variables,
 *   PATH or outputs of later steps, what `::set-env::` does in the log;
 * - every variable whose value is, or holds, a secret diffship uses (a key or
 *   passphrase given as `${VAR}`, an expanded secret-looking variable, the
 *   action's key and token), whatever its name.
 */

/** Variable names removed from a child's environment; a trailing `*` matches a prefix. */
const RUNNER_SECRET_VARIABLES: readonly string[] = [
  'INPUT_*',
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_RUNTIME_URL',
  'ACTIONS_ID_TOKEN_REQUEST_*',
  'ACTIONS_RESULTS_URL',
  'ACTIONS_CACHE_*',
  'GITHUB_ENV',
  'GITHUB_PATH',
  'GITHUB_OUTPUT',
  'GITHUB_STATE',
  'GITHUB_STEP_SUMMARY',
];

/** Variables whose values are the runner's own credentials. */
const RUNNER_TOKENS = ['ACTIONS_RUNTIME_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN'];

/** Secret values shorter than this are matched whole only: a short one inside a value proves nothing. */
const MIN_CONTAINED = 8;

export interface ChildEnvPolicy {
  /** Values diffship treats as secrets (ResolvedConfig.secrets). */
  secrets?: readonly string[];
  /** Names (or `PREFIX*`) the config lets through anyway (`pass-env`). */
  pass?: readonly string[];
  /**
   * This process's environment, already filtered by this policy (`sharedEnvPolicy` in
   * run-local.ts): many commands that share one policy (a rollout's hooks and checks)
   * then read and filter the environment once, not once per command.
   */
  filtered?: Readonly<Record<string, string>>;
}

/** Does `name` match one of `patterns` (exact, or a prefix before a trailing `*`)? */
export function matchesName(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
}

/** A line of a multi-line secret this long (a key's base64 body) identifies it alone. */
const MIN_LINE = 16;

function holdsSecret(value: string, secrets: readonly string[]): boolean {
  return secrets.some((secret) => {
    const core = secret.trim();
    if ((secret !== '' && value === secret) || (core.length >= MIN_CONTAINED && value.includes(core)))
      return true;
    // The same key with other line ends (CRLF from a Windows editor, a missing final newline).
    return (
      core.includes('\n') &&
      core.split(/\r?\n/).some((l) => l.trim().length >= MIN_LINE && value.includes(l.trim()))
    );
  });
}

/**
 * `env` without the runner's secrets (see the file comment). Pure: the caller
 * passes `process.env`.
 *
 * @example childEnv({ PATH: '/bin', INPUT_TOKEN: 'x' }) // { PATH: '/bin' }
 */
export function childEnv(env: NodeJS.ProcessEnv, policy: ChildEnvPolicy = {}): Record<string, string> {
  // The runner's tokens are secrets under any other name too (a step may have copied one).
  const tokens = RUNNER_TOKENS.map((name) => env[name]).filter(
    (v): v is string => !!v && v.length >= MIN_CONTAINED,
  );
  const secrets = [...(policy.secrets ?? []), ...tokens];
  const pass = policy.pass ?? [];
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const passed = matchesName(name, pass);
    if (!passed && (matchesName(name, RUNNER_SECRET_VARIABLES) || holdsSecret(value, secrets))) continue;
    out[name] = value;
  }
  return out;
}
