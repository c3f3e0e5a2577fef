/**
 * Reads every input of the action into one typed settings object, the way
 * actions/checkout's input-helper does: the rest of the action never calls
 * `core.getInput`. A bad value fails with one line that names the input, the
 * value and what is expected.
 */
import path from 'node:path';
import * as core from '@actions/core';
import { parse as parseYaml } from 'yaml';
import { checkOverrides } from '../config/overrides.js';
import { RELEASE_NAME } from '../config/placeholders.js';
import type { Mode } from '../config/types.js';
import { DiffshipError } from '../errors.js';

const COMMANDS = ['deploy', 'plan', 'rollback', 'status'] as const;
type ActionCommand = (typeof COMMANDS)[number];
const MODES: readonly Mode[] = ['additive', 'authoritative'];

/** Everything the action was asked to do. */
export interface ActionSettings {
  command: ActionCommand;
  /** Absolute: the repository folder (the workspace, or `working-directory` in it). */
  repo: string;
  /** Absolute path of diffship.yml. */
  configFile: string;
  /** The ref to ship: the input, else the workflow's commit (GITHUB_SHA), else HEAD. */
  to: string;
  /** Absolute path of a built folder to ship instead of `to` (input `dir`). */
  dir?: string;
  /** Input `release-name`: what reports and `{release}` call the release. */
  releaseName?: string;
  fromManifest: boolean;
  assumeEmpty: boolean;
  /** Names and `label:x` selectors; undefined = every target. */
  targets?: string[];
  mode?: Mode;
  dryRun: boolean;
  /** As given (checked by withOverrides): `"1,50%"`, or the items of a YAML list. */
  waves?: string | unknown[];
  /** As given (checked by withOverrides). */
  maxParallel?: string;
  /** Key text for ssh targets that set no key of their own. A secret. */
  sshPrivateKey?: string;
  /** known_hosts lines for ssh targets that set none of their own. */
  sshKnownHosts?: string;
  githubToken?: string;
  comment: boolean;
  /** Artifact name for the report; '' disables the upload. */
  reportArtifact: string;
}

export const DEFAULT_REPORT_ARTIFACT = 'diffship-report';

function usage(message: string): DiffshipError {
  return new DiffshipError('E_USAGE', message);
}

/** `"x"` as JSON, so an empty or odd value is visible in the message. */
function quote(value: string): string {
  return JSON.stringify(value);
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  const lower = value.toLowerCase();
  const found = allowed.find((a) => a === lower);
  if (!found) throw usage(`Input ${name} is ${quote(value)}: expected one of ${allowed.join(', ')}.`);
  return found;
}

/** YAML 1.2 core-schema booleans, as `core.getBooleanInput` accepts, but a one-line error. */
function parseBoolean(name: string, value: string, fallback: boolean): boolean {
  if (value === '') return fallback;
  if (['true', 'True', 'TRUE'].includes(value)) return true;
  if (['false', 'False', 'FALSE'].includes(value)) return false;
  throw usage(`Input ${name} is ${quote(value)}: expected true or false.`);
}

/** Target names and `label:x` selectors, separated by commas, spaces or new lines. */
function parseList(value: string): string[] | undefined {
  const items = value
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : undefined;
}

/**
 * Wave sizes as in diffship.yml: `1,50%,100%`, `1 50% 100%`, or a YAML list
 * (`[1, "50%", "100%"]` or one `- item` a line). Only the list syntax is read
 * here; the sizes are checked by config/overrides.ts, as the CLI's `--waves`.
 *
 * @example readWaves('waves', '[1, "50%"]') // [1, '50%']
 */
function readWaves(name: string, value: string): string | unknown[] | undefined {
  const text = value.trim();
  if (text === '') return undefined;
  if (!text.startsWith('[') && !/^-\s/.test(text)) return text;
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new DiffshipError(
      'E_USAGE',
      `Input ${name} is ${quote(value)}: not a valid YAML list (${oneLine(error)}).`,
      {
        cause: error,
      },
    );
  }
  return Array.isArray(parsed) ? parsed : [parsed];
}

/** How config/overrides.ts names an input in its messages. */
export const inputName = (name: string): string => `Input ${name}`;

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split(/\r?\n/)[0] ?? '';
}

/**
 * The pieces of a secret to mask: the whole value and each line of it (the
 * runner masks line by line, so a multi-line key must be registered per line).
 * Lines shorter than 4 characters are left out: masking `==` would star every
 * `==` in the log and hide nothing worth hiding.
 */
export function secretPieces(value: string): string[] {
  if (!value.trim()) return [];
  const lines = value
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length >= 4);
  return [...new Set([value, ...lines])];
}

export interface ReadOptions {
  /** Called with every piece of every secret input before anything else is read or validated. */
  onSecret?: (piece: string) => void;
}

/**
 * Read and validate every input. Secret inputs are reported to `onSecret`
 * first, so they are masked even when a later input is invalid.
 */
export function readSettings(options: ReadOptions = {}): ActionSettings {
  const env = process.env;
  // Raw values: a key's trailing newline is part of a valid key file.
  const sshPrivateKey = core.getInput('ssh-private-key', { trimWhitespace: false });
  const sshKnownHosts = core.getInput('ssh-known-hosts', { trimWhitespace: false });
  const githubToken = core.getInput('github-token');
  for (const secret of [sshPrivateKey, sshKnownHosts, githubToken]) {
    for (const piece of secretPieces(secret)) options.onSecret?.(piece);
  }

  const command = oneOf('command', core.getInput('command') || 'deploy', COMMANDS);
  const workspace = env.GITHUB_WORKSPACE || process.cwd();
  const repo = path.resolve(workspace, core.getInput('working-directory') || '.');
  const configFile = path.resolve(repo, core.getInput('config') || 'diffship.yml');
  const modeInput = core.getInput('mode');
  const artifactInput =
    env['INPUT_REPORT-ARTIFACT'] === undefined ? undefined : core.getInput('report-artifact');

  const dryRun = parseBoolean('dry-run', core.getInput('dry-run'), false);
  // The engine's dry run is a plan of a deploy; for a rollback it would plan the opposite of what was asked.
  if (dryRun && (command === 'rollback' || command === 'status')) {
    throw usage(
      `Input dry-run is "true" with command ${command}: a dry run exists for deploy only (it equals plan).`,
    );
  }

  const waves = readWaves('waves', core.getInput('waves'));
  const maxParallel = core.getInput('max-parallel') || undefined;
  checkOverrides({ waves, maxParallel }, { name: inputName });
  const dirInput = core.getInput('dir');
  const releaseName = core.getInput('release-name');
  const fromManifest = parseBoolean('from-manifest', core.getInput('from-manifest'), false);
  const assumeEmpty = parseBoolean('assume-empty', core.getInput('assume-empty'), false);
  if (dirInput && core.getInput('to'))
    throw usage(
      `Inputs dir and to both name the release (dir ${quote(dirInput)}, to ${quote(core.getInput('to'))}): give one.`,
    );
  if (fromManifest && assumeEmpty)
    throw usage(
      'Inputs from-manifest and assume-empty are both "true": assume-empty ignores the manifest; give one.',
    );
  if (releaseName !== '' && !RELEASE_NAME.test(releaseName))
    throw usage(
      `Input release-name is ${quote(releaseName)}: expected 1–200 letters, digits and . _ + @ : = - (starting with a letter or digit), e.g. build-77.`,
    );
  return {
    command,
    repo,
    configFile,
    dir: dirInput ? path.resolve(repo, dirInput) : undefined,
    releaseName: releaseName || undefined,
    fromManifest,
    assumeEmpty,
    to: core.getInput('to') || env.GITHUB_SHA || 'HEAD',
    targets: parseList(core.getInput('targets')),
    mode: modeInput ? oneOf('mode', modeInput, MODES) : undefined,
    dryRun,
    waves,
    maxParallel,
    sshPrivateKey: sshPrivateKey.trim() ? normalizeKey(sshPrivateKey) : undefined,
    sshKnownHosts: sshKnownHosts.trim() ? sshKnownHosts.trim() + '\n' : undefined,
    githubToken: githubToken || undefined,
    comment: parseBoolean('comment', core.getInput('comment'), false),
    // Unset (a run outside action.yml's defaults, e.g. a test) means the default;
    // set to '' means "no artifact", as documented.
    reportArtifact: artifactInput === undefined ? DEFAULT_REPORT_ARTIFACT : artifactInput,
  };
}

/** Key text as OpenSSH writes it: LF line ends and one final newline (ssh2 is strict about PEM framing). */
function normalizeKey(key: string): string {
  return key.replace(/\r\n/g, '\n').trim() + '\n';
}
