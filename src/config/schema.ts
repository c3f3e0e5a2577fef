/**
 * The one schema of diffship.yml (SPEC §2). It gives the TypeScript types of the
 * raw file and, through `z.toJSONSchema`, the JSON Schema shipped for editors.
 * Keys are spelled as users write them (kebab-case); `resolve.ts` turns a parsed
 * file into the camelCase `ResolvedConfig` the engine uses, applies defaults and
 * checks what a schema cannot (paths, files, placeholders, duplicates).
 *
 * Messages set here are the "what was expected" half of a problem; the key path
 * is added by `zod-issues.ts`.
 *
 * zod/mini, not classic zod: every CLI run imports and builds this schema, and
 * mini's functions and checks cost a fraction of classic's methods to load and
 * build, with the same parser, issues and JSON Schema.
 */
import * as z from 'zod/mini';
import {
  Command,
  CountOrPercent,
  Duration,
  expect,
  GLOBS,
  Globs,
  optional,
  Port,
  text,
  Wave,
} from './schema-parts.js';

const STATUS = 'expected a status: 200, "2xx", or a list of them';
const Status = z.union([z.int(expect(STATUS)), z.string(expect(STATUS))], expect(STATUS));

const HttpCheck = z
  .strictObject({
    url: text('a URL').check(z.describe('http:// or https:// URL; placeholders allowed')),
    method: optional(text('an HTTP method'), 'Default GET'),
    headers: z.optional(z.record(z.string(), z.string(expect('expected a header value (a string)')))),
    status: optional(
      z.union([Status, z.array(Status).check(z.minLength(1, expect(STATUS)))], expect(STATUS)),
      'Expected status: 200, [200, 204] or "2xx" (default 2xx)',
    ),
    contains: optional(z.string(), 'Text the body must contain, e.g. {release}'),
    matches: optional(z.string(), 'A regular expression the body must match'),
    interval: optional(Duration, 'Default 2s'),
    timeout: optional(Duration, 'Default 60s'),
    'success-threshold': optional(
      z
        .int(expect('expected a positive whole number'))
        .check(z.positive(expect('expected a positive whole number'))),
      'Consecutive successes needed (default 1)',
    ),
  })
  .check(z.describe('Poll a URL until it answers as expected'));

const TcpCheck = z
  .strictObject({
    host: optional(text('a host'), "Default: the target's host (localhost for local targets)"),
    port: Port,
    interval: optional(Duration, 'Default 1s'),
    timeout: optional(Duration, 'Default 30s'),
  })
  .check(z.describe('Wait until a TCP port accepts connections'));

const CommandCheck = z
  .strictObject({
    run: optional(text('a shell command'), 'Shell command run here; exit 0 means healthy'),
    remote: optional(text('a shell command'), 'Shell command run on the target; exit 0 means healthy'),
    interval: optional(Duration, 'Default 2s'),
    timeout: optional(Duration, 'Default 30s'),
  })
  .check(z.describe('Retry a command until it exits 0'));

const CHECK_KINDS = 'expected exactly one of http, tcp, command';
/**
 * One health check: exactly one of `http`, `tcp`, `command`. An object with
 * optional keys rather than a union, so a typo gets "did you mean" and a
 * mistake inside `http` gets its own key path.
 */
const Check = z
  .strictObject({ http: z.optional(HttpCheck), tcp: z.optional(TcpCheck), command: z.optional(CommandCheck) })
  .check(
    z.refine(
      (check) => [check.http, check.tcp, check.command].filter((c) => c !== undefined).length === 1,
      expect(CHECK_KINDS),
    ),
    z.meta({ minProperties: 1, maxProperties: 1 }),
    z.describe('A health check: one of http, tcp, command'),
  );

const Hooks = {
  before: optional(Command, 'Drain the target / reduce traffic'),
  activate: optional(Command, 'Make the host load the files: a restart, or just settle'),
  verify: optional(z.array(Check, expect('expected a list of checks')), 'Health checks; all must pass'),
  after: optional(Command, 'Return the target to service; runs whenever before ran'),
};

/** How diffship authenticates over SSH: a target's keys, and a remote balancer host's. */
const SshKeys = {
  'identity-file': optional(text('a key file path'), 'Private key file; ~ is expanded'),
  'private-key': optional(text('the private key text'), 'Key text, e.g. ${SSH_KEY}'),
  passphrase: optional(z.string(), 'Passphrase of the key'),
  agent: optional(
    z.union([z.string(), z.boolean()], expect('expected a socket path, true or false')),
    'ssh-agent socket (default $SSH_AUTH_SOCK when no key is given); false disables',
  ),
};

const NAME = 'expected letters, digits, ".", "_" or "-", starting with a letter or digit';
const Name = z.string(expect(NAME)).check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, expect(NAME)));

/** A host serving a shared target folder (`nodes`). */
const Node = z
  .strictObject({
    name: Name.check(z.describe('Unique within the target; {vars.node} in hooks and checks')),
    host: optional(text('a host name'), "The node's {host} (default: the target's)"),
    'balancer-server': optional(text('a server of the balancer'), 'The node at the balancer'),
    vars: optional(
      z.record(
        z.string(),
        z.union([z.string(), z.number(), z.boolean()], expect('expected a string, number or boolean')),
      ),
      "Merged over the target's vars for this node",
    ),
  })
  .check(z.describe('One host of a shared-storage target'));

export const Target = z
  .strictObject({
    name: Name.check(z.describe('Unique name, used in --targets, reports and {name}')),
    type: optional(z.enum(['local', 'ssh']), 'Default local'),
    path: z
      .string(expect('expected a folder path'))
      .check(z.describe('Target folder; local paths are relative to the config file, ssh paths absolute')),
    host: optional(
      text('a host name'),
      'ssh: the host to connect to; local: the value of {host} (default localhost)',
    ),
    port: optional(Port, 'ssh port (default 22); also the value of {port}'),
    user: optional(text('a user name'), 'ssh user (default: $USER)'),
    labels: optional(z.array(Name, expect('expected a list of labels')), 'Select with --targets label:X'),
    vars: optional(
      z.record(
        z.string(),
        z.union([z.string(), z.number(), z.boolean()], expect('expected a string, number or boolean')),
      ),
      'Values for {vars.X} placeholders',
    ),
    ...SshKeys,
    'known-hosts': optional(
      text('a known_hosts file path or its lines'),
      'A known_hosts file path, or the lines themselves',
    ),
    'strict-host-key': optional(
      z.boolean(expect('expected true or false')),
      'Default true; false skips host key checking',
    ),
    'proxy-jump': optional(text('user@host:port'), 'user@bastion:port'),
    'allow-ssh-rsa-sha1': optional(
      z.boolean(expect('expected true or false')),
      'Default false: SHA-1 ssh-rsa host keys and signatures are refused, as in OpenSSH 9; true accepts them for this target',
    ),
    'connect-timeout': optional(Duration, 'Default 20s'),
    'reply-timeout': optional(
      Duration,
      'Default 30s: the longest wait for any answer from the host once connected (a remote shell starting, an SFTP request, the file helper); a stalled host fails the target after it',
    ),
    'balancer-server': optional(
      text('a server of the balancer'),
      'nginx: the address in the upstream (127.0.0.1:7401); haproxy: the server name in the backend',
    ),
    nodes: optional(
      z
        .array(Node, expect('expected a list of nodes'))
        .check(z.minLength(1, expect('expected at least one node'))),
      'Hosts that serve this folder (shared storage): files ship once, then each node is drained, activated, verified, restored',
    ),
    ...Hooks,
  })
  .check(z.describe('A target folder: on this machine (local) or over SSH'));

/** The SSH keys of a target, for a balancer on another host. */
const BalancerRemote = z
  .strictObject({
    host: text('a host name').check(z.describe('The balancer host')),
    port: optional(Port, 'ssh port (default 22)'),
    user: optional(text('a user name'), 'ssh user (default: $USER)'),
    ...SshKeys,
    'known-hosts': optional(text('a known_hosts file path or its lines'), 'known_hosts path or lines'),
    'strict-host-key': optional(z.boolean(expect('expected true or false')), 'Default true'),
    'proxy-jump': optional(text('user@host:port'), 'user@bastion:port'),
    'connect-timeout': optional(Duration, 'Default 20s'),
  })
  .check(z.describe('Run the balancer commands on this host over SSH'));

const Balancer = z
  .strictObject({
    type: z.enum(['nginx', 'haproxy']).check(z.describe('nginx (open source) or haproxy')),
    'upstream-file': optional(
      text('a file path'),
      'nginx: the include file of the upstream diffship manages (its `server` lines)',
    ),
    nginx: optional(
      text('a command'),
      'nginx: the command run with -t and -s reload (default "nginx"), e.g. "nginx -p /srv/lb -c lb.conf"',
    ),
    socket: optional(
      text('a socket path'),
      'haproxy: the runtime API unix socket (stats socket … level admin)',
    ),
    backend: optional(text('a backend name'), 'haproxy: the backend of the servers'),
    'socket-command': optional(
      text('a command'),
      'haproxy over ssh: reads a command on stdin, prints the answer (default "socat stdio UNIX-CONNECT:{socket}")',
    ),
    'drain-timeout': optional(Duration, 'Wait at most this long for in-flight requests (default 30s)'),
    interval: optional(Duration, 'How often the in-flight count is read (default 200ms)'),
    remote: optional(BalancerRemote, 'The balancer runs on another host: reach it over SSH'),
  })
  .check(z.describe('Drain each target at the load balancer around its deploy, restore it after'));
const PASS_ENV = 'expected a variable name, or a prefix ending in * (e.g. AWS_*)';
/** One `pass-env` entry: a variable name as the runner spells it (dashes allowed), or `PREFIX*`. */
const PassEnvName = z
  .string(expect(PASS_ENV))
  .check(z.regex(/^[A-Za-z_][A-Za-z0-9_.-]*\*?$/, expect(PASS_ENV)));

/** `units`: folders or files deployed, activated and verified as a whole (docs/units.md). */
const Units = z
  .strictObject({
    match: z
      .union([z.string(expect(GLOBS)), z.array(z.string(expect('expected a glob (a string)')))], {
        error: (issue: { input?: unknown }) =>
          issue.input === undefined ? 'required: a glob like packages/* (each match is one unit)' : GLOBS,
      })
      .check(z.describe('Each folder or file matching is one unit, e.g. packages/*')),
    depends: optional(
      z.union(
        [
          z.enum(['none', 'webmethods']),
          z.strictObject({
            file: text('a file path').check(z.describe('YAML map: unit → [units it needs]')),
          }),
        ],
        expect('expected none, webmethods or { file: deps.yml }'),
      ),
      'none (default), webmethods (manifest.v3 requires) or { file: deps.yml }',
    ),
    provided: optional(
      Globs,
      'Units the server already has (dependencies not in the release); webmethods default Wm*',
    ),
    'reload-dependents': optional(
      z.boolean(expect('expected true or false')),
      'Also activate the units that depend on a changed unit, after it (default false)',
    ),
    reveal: optional(
      z.enum(['file', 'unit']),
      'file (default): files appear one by one; unit: a unit appears whole',
    ),
    activate: optional(Command, 'Per changed unit, in dependency order; {unit}, {unit.path}, {unit.status}'),
    deactivate: optional(Command, 'Per unit the release deletes, dependents first, before its files go'),
    verify: optional(z.array(Check, expect('expected a list of checks')), 'Checks per activated unit'),
  })
  .check(z.describe('Units: packages or apps deployed, activated and verified as a whole'));

export const ConfigFile = z
  .strictObject({
    $schema: z.optional(z.string()),
    source: optional(
      z.string(expect('expected a folder of the repo')),
      'Folder of the repo to ship (default ".")',
    ),
    include: optional(Globs, 'Globs of files to ship (default everything)'),
    exclude: optional(Globs, 'Globs of files never shipped; exclude wins over include'),
    mode: optional(z.enum(['additive', 'authoritative']), 'Default additive'),
    protect: optional(Globs, 'Globs never touched on targets, even in authoritative mode'),
    'state-dir': optional(
      z.string(expect('expected a folder name')),
      'Per-target state folder, relative to the target path (default .diffship)',
    ),
    'on-drift': optional(z.enum(['fail', 'overwrite', 'skip']), 'Default fail'),
    'drift-scope': optional(
      z.enum(['changes', 'all']),
      'Files checked for drift: changes (the files a deploy touches, default) or all (every file of the recorded release)',
    ),
    'allow-empty': optional(
      z.boolean(expect('expected true or false')),
      'Allow a selection (source, include, exclude) that matches no file of the release (default false)',
    ),
    preflight: optional(
      z.boolean(expect('expected true or false')),
      'Check every selected target before wave 1 writes anything (default true)',
    ),
    'max-deletes': optional(
      z.int(expect('expected a count')).check(z.nonnegative(expect('expected a count'))),
      'Stop a deploy that would delete more files (default: no limit)',
    ),
    waves: optional(
      z.union(
        [Wave, z.array(Wave).check(z.minLength(1, expect('expected at least one wave size')))],
        expect('expected a count, "N%" or a list of them'),
      ),
      'Batch sizes, Ansible `serial` semantics; the last size repeats (default [1, "100%"])',
    ),
    'max-parallel': optional(
      z.int(expect('expected a positive count')).check(z.positive(expect('expected a positive count'))),
      'Targets in flight at once inside a wave (default 4)',
    ),
    'max-failures': optional(CountOrPercent, 'Count or "N%" of failed targets tolerated (default 0)'),
    rollback: optional(z.enum(['target', 'all', 'none']), 'Default target'),
    timeout: optional(Duration, 'Whole rollout (default 30m)'),
    renames: optional(z.boolean(expect('expected true or false')), 'Detect renames (default true)'),
    'pass-env': optional(
      z.array(PassEnvName, expect('expected a list of variable names')),
      'Variables hooks and command checks get although diffship keeps them back as secrets (INPUT_*, ACTIONS_*_TOKEN, keys); NAME or PREFIX*',
    ),
    symlinks: optional(
      z.enum(['allow', 'refuse-outside']),
      'Release symlinks pointing outside the release: allow (ship them, with a warning) or refuse-outside (stop the release before anything is written). Default allow',
    ),
    defaults: optional(z.strictObject(Hooks), 'Hooks and checks merged into every target'),
    balancer: optional(Balancer, 'Drain targets at NGINX or HAProxy around their deploy'),
    units: optional(Units, 'Folders or files activated and verified one by one, in dependency order'),
    bake: optional(
      z.union(
        [
          Duration,
          z.strictObject({
            duration: Duration,
            interval: optional(Duration, 'Probe every … (default 30s)'),
            'failure-limit': optional(
              z.int(expect('expected a count')).check(z.nonnegative(expect('expected a count'))),
              'Failed probes tolerated in a wave (default 0)',
            ),
          }),
        ],
        expect('expected a duration or { duration, interval, failure-limit }'),
      ),
      "After each wave, re-run its targets' verify checks every interval for this long",
    ),
    'min-healthy': optional(
      CountOrPercent,
      'Targets whose checks must pass: before wave 1 (on what they run now) and after each wave',
    ),
    'before-rollout': optional(Command, 'Runs here once before wave 1; failing stops the rollout'),
    'after-rollout': optional(Command, 'Runs here once at the end, always (also after a failure or cancel)'),
    'before-wave': optional(Command, 'Runs here before each wave; failing stops the rollout'),
    'after-wave': optional(Command, 'Runs here after each wave (and its bake); failing stops the rollout'),
    targets: z
      .array(Target, expect('expected a list of targets'))
      .check(z.minLength(1, expect('expected at least one target'))),
  })
  .check(z.describe('diffship.yml — see https://github.com/diffship/diffship#config'));

export type ConfigFileInput = z.infer<typeof ConfigFile>;
export type CheckInput = z.infer<typeof Check>;
export type TargetInput = z.infer<typeof Target>;
export type HookInput = z.infer<typeof Command>;
export type BalancerInput = z.infer<typeof Balancer>;
export type UnitsInput = z.infer<typeof Units>;
