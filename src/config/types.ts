/** The resolved config: defaults applied, durations in ms, paths absolute, env expanded. */

export type Mode = 'additive' | 'authoritative';
export type OnDrift = 'fail' | 'overwrite' | 'skip';
/** Which files drift is checked on: the files a deploy touches, or every file of the recorded release. */
export type DriftScope = 'changes' | 'all';
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
  /** `allow-ssh-rsa-sha1`: accept SHA-1 (`ssh-rsa`, `ssh-dss`) host keys and sign with SHA-1; default false. */
  allowSshRsaSha1?: boolean;
  proxyJump?: string;
  connectTimeoutMs: number;
  /** `reply-timeout`: the longest wait for any answer from the host once connected (default 30 s). */
  replyTimeoutMs?: number;
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
  /** The target's server at the balancer (`balancer-server`): drained around its deploy. */
  balancerServer?: string;
  /** Hosts serving this (shared) folder: activated and verified one at a time after one apply. */
  nodes?: NodeConfig[];
}

export interface NodeConfig {
  name: string;
  /** `{host}` for this node. */
  host: string;
  /** The target's vars with the node's over them, and `node` = its name. */
  vars: Record<string, string>;
  balancerServer?: string;
}

export interface BakeConfig {
  durationMs: number;
  intervalMs: number;
  /** Failed probes tolerated in one wave's bake; one more fails the wave. */
  failureLimit: number;
}

export interface RolloutHooks {
  beforeRollout?: HookSpec;
  afterRollout?: HookSpec;
  beforeWave?: HookSpec;
  afterWave?: HookSpec;
}

/** The `balancer` section: which load balancer to drain targets at, and how to reach it. */
export type BalancerConfig = {
  /** Wait at most this long for in-flight requests to finish; then go on (the step says so). */
  drainTimeoutMs: number;
  /** How often the in-flight count is read. */
  intervalMs: number;
  /** SSH to the balancer host; absent: the balancer runs on this machine. */
  remote?: SshOptions;
} & (
  | {
      type: 'nginx';
      /** The include file with the upstream's `server` lines (absolute; on the balancer host when remote). */
      upstreamFile: string;
      /** Command prefix for `-t` and `-s reload`. */
      nginx: string;
    }
  | {
      type: 'haproxy';
      socket: string;
      backend: string;
      /** Over SSH: a command that sends its stdin to the socket and prints the answer. */
      socketCommand: string;
    }
);
/** `symlinks:` in diffship.yml. */
export type SymlinkPolicy = 'allow' | 'refuse-outside';

/** `units`: each match of `match` is deployed, activated and verified as a whole (docs/units.md). */
export interface UnitsConfig {
  match: string[];
  depends:
    | { kind: 'none' }
    | { kind: 'webmethods' }
    | { kind: 'file'; file: string; graph: Record<string, string[]> };
  /** Dependencies the server provides itself (globs of unit names). */
  provided: string[];
  reloadDependents: boolean;
  reveal: 'file' | 'unit';
  activate?: HookSpec;
  deactivate?: HookSpec;
  verify: CheckSpec[];
}

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
  /** Default `changes`. */
  driftScope?: DriftScope;
  /** A selection matching no file of the release is an error unless this is set. */
  allowEmpty?: boolean;
  /** Check every selected target before wave 1 (default true). */
  preflight?: boolean;
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
  balancer?: BalancerConfig;
  /** Units: per-unit activation in dependency order. */
  units?: UnitsConfig;
  /** After each wave: probe its targets' checks every `intervalMs` for `durationMs`. */
  bake?: BakeConfig;
  /** Targets that must pass their checks before wave 1 and after each wave. */
  minHealthy?: CountOrPercent;
  /** `before-rollout`, `after-rollout`, `before-wave`, `after-wave`: commands on this machine. */
  rolloutHooks?: RolloutHooks;
  /**
   * `pass-env`: variables (names, or `PREFIX*`) that hooks and command checks get
   * although diffship would keep them back as secrets (src/transport/child-env.ts).
   */
  passEnv?: string[];
  /** Values to mask in every log line (keys, passphrases, expanded secret env vars). */
  secrets: string[];
  /** Things that are allowed but probably a mistake, each `<key path>: <why>`; the CLI prints them. */
  warnings?: string[];
}
