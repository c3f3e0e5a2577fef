/** The resolved config: defaults applied, durations in ms, paths absolute, env expanded. */

export type Mode = 'additive' | 'authoritative';
export type OnDrift = 'fail' | 'overwrite' | 'skip';
export type RollbackPolicy = 'target' | 'all' | 'none';
/** A count, or a share of the selected targets. */
export type CountOrPercent = { count: number } | { percent: number };

export interface HookSpec {
  run?: string;
  remote?: string;
  timeoutMs: number;
  settleMs: number;
}

export type CheckSpec =
  | {
      kind: 'http';
      url: string;
      method: string;
      headers: Record<string, string>;
      /** Accepted statuses: exact numbers and/or classes like "2xx". */
      status: Array<number | string>;
      contains?: string;
      matches?: string;
      intervalMs: number;
      timeoutMs: number;
      successThreshold: number;
    }
  | { kind: 'tcp'; host?: string; port: number; intervalMs: number; timeoutMs: number }
  | { kind: 'command'; run?: string; remote?: string; intervalMs: number; timeoutMs: number };

export interface TargetHooks {
  before?: HookSpec;
  activate?: HookSpec;
  verify: CheckSpec[];
  after?: HookSpec;
}

export interface SshOptions {
  host: string;
  port: number;
  user: string;
  identityFile?: string;
  /** Key text. A secret: never logged. */
  privateKey?: string;
  /** A secret: never logged. */
  passphrase?: string;
  /** ssh-agent socket path, or undefined for none. */
  agent?: string;
  /** known_hosts content (lines), already read from a file if a path was given. */
  knownHosts?: string;
  strictHostKey: boolean;
  proxyJump?: string;
  connectTimeoutMs: number;
}

export interface TargetConfig {
  name: string;
  type: 'local' | 'ssh';
  /** Absolute for local targets; as written (absolute, remote) for ssh targets. */
  path: string;
  /** For placeholders and tcp checks: the ssh host, or "localhost". */
  host: string;
  port?: number;
  labels: string[];
  vars: Record<string, string>;
  ssh?: SshOptions;
  hooks: TargetHooks;
}

/** `symlinks:` in diffship.yml. */
export type SymlinkPolicy = 'allow' | 'refuse-outside';

export interface ResolvedConfig {
  /** Absolute path of the config file, or null for a config built in code. */
  file: string | null;
  /** Folder the config lives in; relative target paths resolve against it. */
  baseDir: string;
  source: string;
  include: string[];
  exclude: string[];
  mode: Mode;
  protect: string[];
  stateDir: string;
  onDrift: OnDrift;
  maxDeletes?: number;
  waves: CountOrPercent[];
  maxParallel: number;
  maxFailures: CountOrPercent;
  rollback: RollbackPolicy;
  timeoutMs: number;
  renames: boolean;
  /** Release symlinks pointing outside the release: shipped with a warning, or refused. */
  symlinks?: SymlinkPolicy;
  targets: TargetConfig[];
  /** Values to mask in every log line (keys, passphrases, expanded secret env vars). */
  secrets: string[];
  /** Things that are allowed but probably a mistake, each `<key path>: <why>`; the CLI prints them. */
  warnings?: string[];
}
