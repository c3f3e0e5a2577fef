/** The step lists the reports of common runs hold, in order (SPEC §5). */

/** A deploy that ran every hook and passed its checks. */
export const DEPLOYED_STEPS = ['lock', 'plan', 'before', 'apply', 'activate', 'verify', 'after', 'unlock'];

/** A deploy whose verify failed (or was cancelled): its files restored, then activated again. */
export const ROLLED_BACK_AT_VERIFY_STEPS = [
  'lock',
  'plan',
  'before',
  'apply',
  'activate',
  'verify',
  'rollback',
  'activate',
  'after',
  'unlock',
];
