/** The step lists the reports of common runs hold, in order (SPEC §5). */

/** A deploy that ran every hook and passed its checks. */
export const DEPLOYED_STEPS = ['lock', 'plan', 'before', 'apply', 'activate', 'verify', 'after', 'unlock'];

/** A deploy cancelled in its verify: its files restored and activated again (no verify: a cancel ends promptly). */
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

/** A deploy whose verify failed: its files restored, activated again, and the restored release verified. */
export const ROLLED_BACK_AND_VERIFIED_STEPS = [
  'lock',
  'plan',
  'before',
  'apply',
  'activate',
  'verify',
  'rollback',
  'activate',
  'verify',
  'after',
  'unlock',
];
