/**
 * Uploads the JSON report as a workflow artifact. Outside a runner there is
 * no artifact service (no ACTIONS_RUNTIME_TOKEN), so the upload is skipped
 * with a notice instead of failing a local run.
 */
import path from 'node:path';
import * as core from '@actions/core';
import { DefaultArtifactClient } from '@actions/artifact';

/** Upload `file` as artifact `name`; '' skips. Failures warn: the rollout already happened. */
export async function uploadReport(name: string, file: string): Promise<void> {
  if (!name) {
    core.debug('report-artifact is empty: no artifact uploaded.');
    return;
  }
  if (!process.env.ACTIONS_RUNTIME_TOKEN) {
    core.notice(
      `Report artifact "${name}" skipped: not running on a GitHub runner (no ACTIONS_RUNTIME_TOKEN). The report is at ${file}.`,
    );
    return;
  }
  try {
    const client = new DefaultArtifactClient();
    const { id, size } = await client.uploadArtifact(name, [file], path.dirname(file));
    core.info(`Report uploaded as artifact "${name}" (id ${id}, ${size ?? 0} bytes).`);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    core.warning(
      `Could not upload the report artifact "${name}": ${reason.split('\n')[0]}. ` +
        'In a matrix, give each job its own name (e.g. diffship-report-${{ matrix.wave }}).',
    );
  }
}
