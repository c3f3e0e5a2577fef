/**
 * A host's stat numbers as the manifest can hold them (manifest-text.ts's parseStat):
 * decimals without a leading zero, at most 16 digits for a size or a mode and 25 for an
 * inode or a time, a time perhaps negative (a file dated before 1970). A host that sends
 * anything else is refused at the protocol: its number would make a manifest that the
 * next read refuses, and a run of digits without end is no stat.
 */
export const SIZE_DIGITS = String.raw`(0|[1-9]\d{0,15})`;
export const INO_DIGITS = String.raw`(0|[1-9]\d{0,24})`;
export const TIME_DIGITS = String.raw`(0|-?[1-9]\d{0,24})`;
