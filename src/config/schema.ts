/**
 * The one schema of diffship.yml (SPEC §2). It gives the TypeScript types of the
 * raw file and, through `z.toJSONSchema`, the JSON Schema shipped for editors.
 * Keys are spelled as users write them (kebab-case); `resolve.ts` turns a parsed
 * file into the camelCase `ResolvedConfig` the engine uses, applies defaults and
 * checks what a schema cannot (paths, files, placeholders, duplicates).
 *
 * Messages set here are the "what was expected" half of a problem; the key path
 * is added by `zod-issues.ts`.
 */
import * as z from 'zod';
import { DURATION_EXPECTED, DURATION_PATTERN } from './duration.js';

/**
 * A schema-level message. A missing key falls through (undefined) to the
 * parse-level map in zod-issues.ts, which says `required`.
 */
const expect = (message: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? undefined : message),
});

/** `500ms`, `2s`, `1m`, `1h`, `1m30s`, or a number of seconds. */
export const Duration = z
  .union(
    [
      z.number(expect(DURATION_EXPECTED)).nonnegative(expect(DURATION_EXPECTED)),
      z.string(expect(DURATION_EXPECTED)).regex(DURATION_PATTERN, expect(DURATION_EXPECTED)),
    ],
    expect(DURATION_EXPECTED),
  )
  .describe('A duration: 500ms, 2s, 1m, 1h, 1m30s, or a number of seconds');

/** `"N%"`: the share of targets, checked to be in range by resolve.ts. */
export const PERCENT_PATTERN = /^\s*\d+(?:\.\d+)?\s*%\s*$/;

const COUNT_OR_PERCENT = 'expected a count or "N%"';
/** A count (`3`) or a share of the selected targets (`"10%"`). */
export const CountOrPercent = z.union(
  [
    z.number(expect(COUNT_OR_PERCENT)).int(expect(COUNT_OR_PERCENT)).nonnegative(expect(COUNT_OR_PERCENT)),
    z.string(expect(COUNT_OR_PERCENT)).regex(PERCENT_PATTERN, expect(COUNT_OR_PERCENT)),
  ],
  expect(COUNT_OR_PERCENT),
);

const WAVE = 'expected a count or "N%"';
/** One wave size: a positive count or `"N%"` (0 < N ≤ 100). */
export const Wave = z.union(
  [
    z.number(expect(WAVE)).int(expect(WAVE)).positive(expect('expected a count above 0 or "N%"')),
    z.string(expect(WAVE)).regex(PERCENT_PATTERN, expect(WAVE)),
  ],
  expect(WAVE),
);

const PORT = 'expected a port number (1-65535)';
const Port = z.union(
  [
    z.number(expect(PORT)).int(expect(PORT)).min(1, expect(PORT)).max(65535, expect(PORT)),
    z.string(expect(PORT)),
  ],
  expect(PORT),
);

const GLOBS = 'expected a glob or a list of globs';
/** One glob or a list of them (minimatch, dot files matched). */
const Globs = z.union(
  [z.string(expect(GLOBS)), z.array(z.string(expect('expected a glob (a string)')))],
  expect(GLOBS),
);

/** A non-empty string; `what` is how the message names it. */
const text = (what: string) =>
  z.string(expect(`expected ${what}`)).min(1, expect(`expected ${what}, not ""`));

const Command = z
  .strictObject({
    run: text('a shell command').optional().describe('Shell command run on the machine running diffship'),
    remote: text('a shell command')
      .optional()
      .describe('Shell command run on the target, with the target folder as working directory'),
    timeout: Duration.optional().describe('Default 5m'),
    settle: Duration.optional().describe(
      'Wait this long after the command (or alone: hosts that import on arrival)',
    ),
  })
  .describe('A hook: `run` (here), `remote` (on the target), and/or `settle` (wait)');
export const Hook = Command;

const STATUS = 'expected a status: 200, "2xx", or a list of them';
const Status = z.union(
  [z.number(expect(STATUS)).int(expect(STATUS)), z.string(expect(STATUS))],
  expect(STATUS),
);

const HttpCheck = z
  .strictObject({
    url: text('a URL').describe('http:// or https:// URL; placeholders allowed'),
    method: text('an HTTP method').optional().describe('Default GET'),
    headers: z.record(z.string(), z.string(expect('expected a header value (a string)'))).optional(),
    status: z
      .union([Status, z.array(Status).min(1, expect(STATUS))], expect(STATUS))
      .optional()
      .describe('Expected status: 200, [200, 204] or "2xx" (default 2xx)'),
    contains: z.string().optional().describe('Text the body must contain, e.g. {release}'),
    matches: z.string().optional().describe('A regular expression the body must match'),
    interval: Duration.optional().describe('Default 2s'),
    timeout: Duration.optional().describe('Default 60s'),
    'success-threshold': z
      .number(expect('expected a positive whole number'))
      .int(expect('expected a positive whole number'))
      .positive(expect('expected a positive whole number'))
      .optional()
      .describe('Consecutive successes needed (default 1)'),
  })
  .describe('Poll a URL until it answers as expected');

const TcpCheck = z
  .strictObject({
    host: text('a host').optional().describe("Default: the target's host (localhost for local targets)"),
    port: Port,
    interval: Duration.optional().describe('Default 1s'),
    timeout: Duration.optional().describe('Default 30s'),
  })
  .describe('Wait until a TCP port accepts connections');

const CommandCheck = z
  .strictObject({
    run: text('a shell command').optional().describe('Shell command run here; exit 0 means healthy'),
    remote: text('a shell command')
      .optional()
      .describe('Shell command run on the target; exit 0 means healthy'),
    interval: Duration.optional().describe('Default 2s'),
    timeout: Duration.optional().describe('Default 30s'),
  })
  .describe('Retry a command until it exits 0');

const CHECK_KINDS = 'expected exactly one of http, tcp, command';
/**
 * One health check: exactly one of `http`, `tcp`, `command`. An object with
 * optional keys rather than a union, so a typo gets "did you mean" and a
 * mistake inside `http` gets its own key path.
 */
export const Check = z
  .strictObject({ http: HttpCheck.optional(), tcp: TcpCheck.optional(), command: CommandCheck.optional() })
  .refine(
    (check) => [check.http, check.tcp, check.command].filter((c) => c !== undefined).length === 1,
    expect(CHECK_KINDS),
  )
  .meta({ minProperties: 1, maxProperties: 1 })
  .describe('A health check: one of http, tcp, command');

const Hooks = {
  before: Command.optional().describe('Drain the target / reduce traffic'),
  activate: Command.optional().describe('Make the host load the files: a restart, or just settle'),
  verify: z
    .array(Check, expect('expected a list of checks'))
    .optional()
    .describe('Health checks; all must pass'),
  after: Command.optional().describe('Return the target to service; runs whenever before ran'),
};

const NAME = 'expected letters, digits, ".", "_" or "-", starting with a letter or digit';
const Name = z.string(expect(NAME)).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, expect(NAME));

export const Target = z
  .strictObject({
    name: Name.describe('Unique name, used in --targets, reports and {name}'),
    type: z.enum(['local', 'ssh']).optional().describe('Default local'),
    path: z
      .string(expect('expected a folder path'))
      .describe('Target folder; local paths are relative to the config file, ssh paths absolute'),
    host: text('a host name')
      .optional()
      .describe('ssh: the host to connect to; local: the value of {host} (default localhost)'),
    port: Port.optional().describe('ssh port (default 22); also the value of {port}'),
    user: text('a user name').optional().describe('ssh user (default: $USER)'),
    labels: z
      .array(Name, expect('expected a list of labels'))
      .optional()
      .describe('Select with --targets label:X'),
    vars: z
      .record(
        z.string(),
        z.union([z.string(), z.number(), z.boolean()], expect('expected a string, number or boolean')),
      )
      .optional()
      .describe('Values for {vars.X} placeholders'),
    'identity-file': text('a key file path').optional().describe('Private key file; ~ is expanded'),
    'private-key': text('the private key text').optional().describe('Key text, e.g. ${SSH_KEY}'),
    passphrase: z.string().optional().describe('Passphrase of the key'),
    agent: z
      .union([z.string(), z.boolean()], expect('expected a socket path, true or false'))
      .optional()
      .describe('ssh-agent socket (default $SSH_AUTH_SOCK when no key is given); false disables'),
    'known-hosts': text('a known_hosts file path or its lines')
      .optional()
      .describe('A known_hosts file path, or the lines themselves'),
    'strict-host-key': z
      .boolean(expect('expected true or false'))
      .optional()
      .describe('Default true; false skips host key checking'),
    'proxy-jump': text('user@host:port').optional().describe('user@bastion:port'),
    'connect-timeout': Duration.optional().describe('Default 20s'),
    ...Hooks,
  })
  .describe('A target folder: on this machine (local) or over SSH');

export const ConfigFile = z
  .strictObject({
    $schema: z.string().optional(),
    source: z
      .string(expect('expected a folder of the repo'))
      .optional()
      .describe('Folder of the repo to ship (default ".")'),
    include: Globs.optional().describe('Globs of files to ship (default everything)'),
    exclude: Globs.optional().describe('Globs of files never shipped; exclude wins over include'),
    mode: z.enum(['additive', 'authoritative']).optional().describe('Default additive'),
    protect: Globs.optional().describe('Globs never touched on targets, even in authoritative mode'),
    'state-dir': z
      .string(expect('expected a folder name'))
      .optional()
      .describe('Per-target state folder, relative to the target path (default .diffship)'),
    'on-drift': z.enum(['fail', 'overwrite', 'skip']).optional().describe('Default fail'),
    'max-deletes': z
      .number(expect('expected a count'))
      .int(expect('expected a count'))
      .nonnegative(expect('expected a count'))
      .optional()
      .describe('Stop a deploy that would delete more files (default: no limit)'),
    waves: z
      .union(
        [Wave, z.array(Wave).min(1, expect('expected at least one wave size'))],
        expect('expected a count, "N%" or a list of them'),
      )
      .optional()
      .describe('Batch sizes, Ansible `serial` semantics; the last size repeats (default [1, "100%"])'),
    'max-parallel': z
      .number(expect('expected a positive count'))
      .int(expect('expected a positive count'))
      .positive(expect('expected a positive count'))
      .optional()
      .describe('Targets in flight at once inside a wave (default 4)'),
    'max-failures': CountOrPercent.optional().describe(
      'Count or "N%" of failed targets tolerated (default 0)',
    ),
    rollback: z.enum(['target', 'all', 'none']).optional().describe('Default target'),
    timeout: Duration.optional().describe('Whole rollout (default 30m)'),
    renames: z.boolean(expect('expected true or false')).optional().describe('Detect renames (default true)'),
    defaults: z.strictObject(Hooks).optional().describe('Hooks and checks merged into every target'),
    targets: z
      .array(Target, expect('expected a list of targets'))
      .min(1, expect('expected at least one target')),
  })
  .describe('diffship.yml — see https://github.com/diffship/diffship#config');

export type ConfigFileInput = z.input<typeof ConfigFile>;
export type CheckInput = z.infer<typeof Check>;
export type TargetInput = z.infer<typeof Target>;
export type HookInput = z.infer<typeof Hook>;
