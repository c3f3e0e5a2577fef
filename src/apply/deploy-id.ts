/** Deploy ids: they name a deploy's staging and backup folders on the target, so they are plain names. */
import { randomBytes } from 'node:crypto';
import { DiffshipError } from '../errors.js';
import { DEPLOY_ID } from './state-schema.js';

/** A sortable, unique deploy id: 20261121T233000123Z-1a2b3c (to the millisecond, then random). */
export function newDeployId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** `id` when it is a plain name, never a path; else the usage error naming it. */
export function checkedDeployId(id: string): string {
  if (DEPLOY_ID.test(id)) return id;
  throw new DiffshipError(
    'E_USAGE',
    `deploy id ${JSON.stringify(id)} is not a plain name (letters, digits, . _ -)`,
  );
}
