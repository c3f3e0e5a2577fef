/**
 * What the example host (server.mjs) checks in a workflow file: its git blob
 * id, whether it is a workflow at all, and whether it is a valid one. Pure.
 */
import { createHash } from 'node:crypto';

/** Step types a workflow may use; anything else makes the workflow invalid. */
const STEP_TYPES = ['receive', 'transform', 'filter', 'route', 'send', 'log'];

/** git's blob id: the same as `git hash-object <file>`. */
export function blobId(bytes) {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/**
 * Is this a workflow we can load? Well-formed means: parses as JSON, is an
 * object with a string `name` and an array `steps`. Returns the reason if not.
 */
export function wellFormed(text) {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    return { reason: `not complete JSON (${error.message})` };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { reason: 'not a JSON object' };
  if (typeof doc.name !== 'string' || doc.name === '') return { reason: 'no "name" string' };
  if (!Array.isArray(doc.steps)) return { reason: 'no "steps" array' };
  return { doc };
}

/** Semantic problems of a well-formed workflow: it loads, but the host is unhealthy. */
export function problemsOf(doc) {
  const problems = [];
  if (doc.valid === false) problems.push('marked "valid": false');
  doc.steps.forEach((step, i) => {
    if (step === null || typeof step !== 'object') problems.push(`step ${i + 1} is not an object`);
    else if (!STEP_TYPES.includes(step.type))
      problems.push(`step ${i + 1} has unknown type ${JSON.stringify(step.type)}`);
  });
  return problems;
}
