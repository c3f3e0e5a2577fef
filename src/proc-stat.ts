/**
 * The fields of a Linux `/proc/<pid>/stat` line from field 3 (the state) on: the
 * command name before them is in parentheses and may hold spaces and ')', so
 * the fields start after the last ')'. Index 0 is the state, 2 the process
 * group, 19 the start time (clock ticks after boot).
 */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
