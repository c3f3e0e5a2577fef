/**
 * The order test files start in: longest first, by the durations a full run recorded
 * (test/durations.json, refreshed with scripts/test-durations.mjs). CI runs on a fresh
 * checkout, where vitest has no results of its own and starts the biggest files first: the
 * conformance suites, small files that import a long shared suite, then came last, and one
 * worker ran a 40 s file while the other had nothing left (~40 s of a ~16 min run). Files not
 * recorded yet go first, as vitest runs unknown files first.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const recorded = JSON.parse(readFileSync(new URL('./durations.json', import.meta.url), 'utf8')) as Record<
  string,
  number
>;

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const ms = (spec: TestSpecification) => recorded[relative(root, spec.moduleId)] ?? Infinity;
    return [...files].sort((a, b) => ms(b) - ms(a));
  }
}
