/**
 * Attack: anyone who can push a branch edits a workflow (or runs the plan
 * workflow) and reads the production deploy key. Repository secrets reach
 * every workflow on every branch; environment secrets only jobs of that
 * environment, which its deployment rules and reviewers guard. So every
 * example job that gets an SSH key runs in an environment, and a job that only
 * plans gets the read-only key of its own environment, never the deploy key.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const DIR = path.resolve(import.meta.dirname, '../../.github/workflows/examples');

interface Step {
  uses?: string;
  with?: Record<string, string>;
}
interface Job {
  environment?: string | { name: string };
  steps?: Step[];
}

const jobs = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.yml'))
  .flatMap((file) => {
    const workflow = parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as { jobs: Record<string, Job> };
    return Object.entries(workflow.jobs).map(([name, job]) => ({ where: `${file}: ${name}`, job }));
  });

const diffshipSteps = (job: Job) => (job.steps ?? []).filter((s) => s.uses?.startsWith('diffship/diffship@'));
const environment = (job: Job) =>
  typeof job.environment === 'object' ? job.environment.name : job.environment;

describe('example workflows keep deploy keys out of reach of a branch push', () => {
  it('every job that gets an ssh key runs in an environment (environment-scoped secret)', () => {
    let keyed = 0;
    for (const { where, job } of jobs) {
      for (const step of diffshipSteps(job)) {
        const key = step.with?.['ssh-private-key'];
        if (!key) continue;
        keyed++;
        expect(environment(job), where).toBeTruthy();
        expect(key, where).toMatch(/^\$\{\{ secrets\.DIFFSHIP_(PLAN_)?SSH_KEY \}\}$/);
      }
    }
    expect(keyed).toBeGreaterThanOrEqual(5);
  });

  it('a job that only plans uses the read-only key of its own environment, never the deploy key', () => {
    let plans = 0;
    for (const { where, job } of jobs) {
      const steps = diffshipSteps(job);
      if (steps.length === 0 || !steps.every((s) => s.with?.command === 'plan')) continue;
      plans++;
      expect(environment(job), where).toBe('diffship-plan');
      for (const step of steps)
        expect(step.with?.['ssh-private-key'], where).toBe('${{ secrets.DIFFSHIP_PLAN_SSH_KEY }}');
    }
    expect(plans).toBe(2); // pr-plan.yml and fleet.yml's plan job
  });

  it('the deploy key appears only in jobs of a deploying environment', () => {
    for (const { where, job } of jobs) {
      for (const step of diffshipSteps(job)) {
        if (step.with?.['ssh-private-key'] !== '${{ secrets.DIFFSHIP_SSH_KEY }}') continue;
        expect(environment(job), where).toMatch(/production|canary/);
      }
    }
  });
});
