/**
 * The action around the library call: run() with a stand-in for run-command.ts,
 * in a runner-like environment (INPUT_*, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY).
 * The bundled action against the real engine is covered by dist.test.ts.
 */
import fs from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CommandRunner } from '../../src/action/main.js';
import { run } from '../../src/action/main.js';
import type { Report } from '../../src/report/types.js';
import { deployReport, failedCanaryReport, statusInfo } from './fixtures.js';
import { inputEnv, readOutputs, runnerFiles, type RunnerFiles } from './runner.js';

// One set of runner files for the file: @actions/core caches the summary path after its first write.
const files: RunnerFiles = runnerFiles();
let stdout: string[];

function setInputs(inputs: Record<string, string>): void {
  for (const [name, value] of Object.entries(inputEnv(inputs))) vi.stubEnv(name, value);
}

function returning(report: Report): CommandRunner & { calls: unknown[] } {
  const calls: unknown[] = [];
  const runner = async (settings: unknown) => {
    calls.push(settings);
    return { kind: 'report' as const, report };
  };
  return Object.assign(runner as CommandRunner, { calls });
}

beforeEach(() => {
  fs.writeFileSync(files.output, '');
  fs.writeFileSync(files.summary, '');
  for (const name of Object.keys(process.env)) if (name.startsWith('INPUT_')) vi.stubEnv(name, undefined);
  vi.stubEnv('GITHUB_OUTPUT', files.output);
  vi.stubEnv('GITHUB_STEP_SUMMARY', files.summary);
  vi.stubEnv('RUNNER_TEMP', files.temp);
  vi.stubEnv('GITHUB_WORKSPACE', files.dir);
  vi.stubEnv('GITHUB_SHA', 'f'.repeat(40));
  vi.stubEnv('ACTIONS_RUNTIME_TOKEN', undefined);
  stdout = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  process.exitCode = undefined;
});

afterAll(() => files.cleanup());

const out = () => stdout.join('');

describe('run', () => {
  it('writes outputs, the summary, the report file and a group per target for a deploy', async () => {
    const report = deployReport();
    const runner = returning(report);
    await run(runner);
    expect(process.exitCode).toBeUndefined();
    expect(runner.calls[0]).toMatchObject({
      command: 'deploy',
      to: 'f'.repeat(40),
      reportArtifact: 'diffship-report',
    });

    const outputs = readOutputs(files.output);
    expect(outputs).toMatchObject({
      status: 'succeeded',
      changed: 'true',
      added: '["new.xml","x|y.xml"]',
      'deployed-targets': '["a","b"]',
      'failed-targets': '[]',
      matrix: '{"include":[{"wave":0,"targets":"a"},{"wave":1,"targets":"b,c"}]}',
    });
    expect(outputs.report?.startsWith(files.temp)).toBe(true);
    expect(JSON.parse(fs.readFileSync(outputs.report!, 'utf8'))).toEqual(report);

    const summary = fs.readFileSync(files.summary, 'utf8');
    expect(summary).toMatch(/^## ✅ diffship deploy: succeeded/);
    expect(summary).toContain('```mermaid\ngantt');

    expect(out()).toContain('::group::a: deployed (wave 1');
    expect(out()).toContain('::endgroup::');
    expect(out()).toContain(
      '::notice::Report artifact "diffship-report" skipped: not running on a GitHub runner',
    );
    expect(out()).not.toContain('::error');
  });

  it('fails the step with one line and annotates the failed target with its step', async () => {
    await run(returning(failedCanaryReport()));
    expect(process.exitCode).toBe(1);
    expect(out()).toContain(
      '::error title=diffship%3A a failed in the verify step (rolled back)::verify failed: http://localhost:1/health: connection refused\n',
    );
    expect(out()).toContain('::error::diffship deploy of bbbbbbb failed: 1 of 3 target(s) failed (a)\n');
    expect(readOutputs(files.output)).toMatchObject({
      status: 'failed',
      changed: 'false',
      'failed-targets': '["a"]',
    });
    expect(fs.readFileSync(files.summary, 'utf8')).toMatch(/^## ❌ diffship deploy: failed/);
  });

  it('fails the step when the library throws something that is not an Error', async () => {
    await run((async () => {
      throw 'plain string thrown';
    }) as CommandRunner);
    expect(process.exitCode).toBe(1);
    expect(out()).toContain('::error::plain string thrown\n');
    expect(readOutputs(files.output)).toMatchObject({
      status: 'failed',
      changed: 'false',
      matrix: '{"include":[]}',
    });
  });

  it('fails with the one-line message of a DiffshipError, multi-line messages joined', async () => {
    const { ConfigError } = await import('../../src/errors.js');
    await run((async () => {
      throw new ConfigError(
        'diffship.yml is invalid:\n  targets[0].path: required\n  mode: expected additive',
      );
    }) as CommandRunner);
    expect(process.exitCode).toBe(1);
    const errors = out()
      .split('\n')
      .filter((l) => l.startsWith('::error'));
    expect(errors).toEqual([
      '::error::diffship.yml is invalid:; targets[0].path: required; mode: expected additive',
    ]);
  });

  it('stops at a bad input before calling the library', async () => {
    setInputs({ 'max-parallel': 'lots' });
    const runner = returning(deployReport());
    await run(runner);
    expect(runner.calls).toHaveLength(0);
    expect(process.exitCode).toBe(1);
    expect(out()).toContain('::error::Input max-parallel: expected a count of 1 or more (got "lots")\n');
  });

  it('masks every line of the key, and the engine log never shows it', async () => {
    const key = [
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
      'QyNTUxOQAAACAsecretsecretsecretsecretsecretsecretAAAAAAAAAAAAAAAAAAAA',
      '-----END OPENSSH PRIVATE KEY-----',
    ].join('\n');
    setInputs({ 'ssh-private-key': key });
    // The engine's report quotes a key line (a hook that echoed it): the summary and the report file must not.
    const report = deployReport();
    report.targets[0]!.steps[2]!.detail = `echo ${key.split('\n')[1]}`;
    await run((async (settings, io) => {
      expect(settings.sshPrivateKey).toBe(key + '\n');
      io.log.info(`connecting with ${settings.sshPrivateKey}`);
      io.log.warn(`line: ${key.split('\n')[2]}`);
      return { kind: 'report', report };
    }) as CommandRunner);
    const lines = out().split('\n');
    for (const secret of key.split('\n')) {
      expect(lines).toContain(`::add-mask::${secret}`);
      // Outside the add-mask commands the runner consumes, the key never appears.
      expect(lines.filter((l) => !l.startsWith('::add-mask::') && l.includes(secret))).toEqual([]);
    }
    expect(lines).toContain('::warning::line: ***');
    expect(lines).toContain('  ✓ apply (300ms): echo ***');
    const written =
      fs.readFileSync(files.summary, 'utf8') + fs.readFileSync(readOutputs(files.output).report!, 'utf8');
    for (const secret of key.split('\n')) expect(written).not.toContain(secret);
  });

  it('writes a status table and outputs for command: status, failing on an unreachable target', async () => {
    setInputs({ command: 'status' });
    await run((async () => ({
      kind: 'status',
      targets: [
        statusInfo('a', { release: 'abc1234'.padEnd(40, '0'), drift: ['x.xml'] }),
        statusInfo('b', { error: 'connect ECONNREFUSED' }),
      ],
    })) as CommandRunner);
    expect(process.exitCode).toBe(1);
    const outputs = readOutputs(files.output);
    expect(outputs).toMatchObject({
      status: 'failed',
      changed: 'false',
      'failed-targets': '["b"]',
      matrix: '{"include":[]}',
    });
    const saved = JSON.parse(fs.readFileSync(outputs.report!, 'utf8'));
    expect(saved.targets.map((t: { name: string }) => t.name)).toEqual(['a', 'b']);
    expect(fs.readFileSync(files.summary, 'utf8')).toContain('| a | abc123400000 |');
    expect(out()).toContain(
      '::warning title=diffship%3A drift on a::1 file(s) changed on the target by hand: x.xml\n',
    );
    expect(out()).toContain('::error title=diffship%3A cannot inspect b::connect ECONNREFUSED\n');
    expect(out()).toContain('::error::diffship status: 1 of 2 target(s) could not be inspected (b)\n');
  });

  it('skips the comment with a notice when the run is not for a pull request', async () => {
    setInputs({ comment: 'true' });
    await run(returning(deployReport()));
    expect(out()).toMatch(/::notice::comment: true has no effect on a \S+ run/);
    expect(process.exitCode).toBeUndefined();
  });

  it('uploads no artifact and says nothing about it when report-artifact is empty', async () => {
    setInputs({ 'report-artifact': '' });
    await run(returning(deployReport()));
    expect(out()).not.toContain('Report artifact');
  });
});
