/**
 * The one schema of diffship.yml (SPEC §2). It gives the TypeScript types of the
 * raw file and, through `z.toJSONSchema`, the JSON Schema shipped for editors.
 * Keys are spelled as users write them (kebab-case); `resolve.ts` turns a parsed
 * file into the camelCase `ResolvedConfig` the engine uses.
 */
import { z } from 'zod';

/** `500ms`, `2s`, `1m`, `1h`, or a number of seconds. */
export const Duration = z
  .union([z.number().nonnegative(), z.string().regex(/^\s*\d+(\.\d+)?\s*(ms|s|m|h)?\s*$/)])
  .describe('A duration: 500ms, 2s, 1m, 1h, or a number of seconds');

/** A count (`3`) or a share of the selected targets (`"10%"`). */
export const CountOrPercent = z.union([z.number().int().nonnegative(), z.string().regex(/^\s*\d+(\.\d+)?%\s*$/)]);

const Command = z
  .strictObject({
    run: z.string().min(1).optional().describe('Shell command run on the machine running diffship'),
    remote: z.string().min(1).optional().describe('Shell command run on the target, in the target folder'),
    timeout: Duration.optional().describe('Default 5m'),
    settle: Duration.optional().describe('Wait this long after the command (or alone: hosts that import on arrival)'),
  })
  .describe('A hook: `run` (local), `remote` (on the target), and/or `settle`');

const HttpCheck = z.strictObject({
  http: z.strictObject({
    url: z.string().min(1),
    method: z.string().optional().describe('Default GET'),
    headers: z.record(z.string(), z.string()).optional(),
    status: z
      .union([z.number().int(), z.string(), z.array(z.union([z.number().int(), z.string()]))])
      .optional()
      .describe('Expected status: 200, [200, 204] or "2xx" (default 2xx)'),
    contains: z.string().optional(),
    matches: z.string().optional().describe('A regular expression the body must match'),
    interval: Duration.optional(),
    timeout: Duration.optional(),
    'success-threshold': z.number().int().positive().optional(),
  }),
});
const TcpCheck = z.strictObject({
  tcp: z.strictObject({
    host: z.string().optional().describe("Default: the target's host (localhost for local targets)"),
    port: z.union([z.number().int().min(1).max(65535), z.string()]),
    interval: Duration.optional(),
    timeout: Duration.optional(),
  }),
});
const CommandCheck = z.strictObject({
  command: z.strictObject({
    run: z.string().min(1).optional(),
    remote: z.string().min(1).optional(),
    interval: Duration.optional(),
    timeout: Duration.optional(),
  }),
});
export const Check = z.union([HttpCheck, TcpCheck, CommandCheck]);

const Hooks = {
  before: Command.optional().describe('Drain the target / reduce traffic'),
  activate: Command.optional().describe('Make the host load the files: a restart, or just settle'),
  verify: z.array(Check).optional().describe('Health checks; all must pass'),
  after: Command.optional().describe('Return the target to service; runs whenever before ran'),
};

export const Target = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-"'),
  type: z.enum(['local', 'ssh']).optional().describe('Default local'),
  path: z.string().describe('Target folder; relative paths are relative to the config file'),
  host: z.string().optional(),
  port: z.union([z.number().int().min(1).max(65535), z.string()]).optional(),
  user: z.string().optional(),
  labels: z.array(z.string()).optional(),
  vars: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  'identity-file': z.string().optional(),
  'private-key': z.string().optional().describe('Key text, e.g. ${SSH_KEY}'),
  passphrase: z.string().optional(),
  agent: z.union([z.string(), z.boolean()]).optional().describe('ssh-agent socket (default $SSH_AUTH_SOCK)'),
  'known-hosts': z.string().optional().describe('A known_hosts file path, or the lines themselves'),
  'strict-host-key': z.boolean().optional().describe('Default true; false skips host key checking'),
  'proxy-jump': z.string().optional().describe('user@bastion:port'),
  'connect-timeout': Duration.optional(),
  ...Hooks,
});

export const ConfigFile = z
  .strictObject({
    $schema: z.string().optional(),
    source: z.string().optional().describe('Folder of the repo to ship (default ".")'),
    include: z.array(z.string()).optional(),
    exclude: z.array(z.string()).optional(),
    mode: z.enum(['additive', 'authoritative']).optional(),
    protect: z.array(z.string()).optional(),
    'state-dir': z.string().optional(),
    'on-drift': z.enum(['fail', 'overwrite', 'skip']).optional(),
    'max-deletes': z.number().int().nonnegative().optional(),
    waves: z.union([CountOrPercent, z.array(CountOrPercent).min(1)]).optional(),
    'max-parallel': z.number().int().positive().optional(),
    'max-failures': CountOrPercent.optional(),
    rollback: z.enum(['target', 'all', 'none']).optional(),
    timeout: Duration.optional(),
    renames: z.boolean().optional(),
    defaults: z.strictObject(Hooks).optional(),
    targets: z.array(Target).min(1),
  })
  .describe('diffship.yml — see https://github.com/diffship/diffship#config');

export type ConfigFileInput = z.input<typeof ConfigFile>;
export type CheckInput = z.infer<typeof Check>;
