/**
 * A Transport that records every call, in order, and delegates it to a real
 * transport (a LocalTransport in the tests): the order of durable steps (sync,
 * then journal, then renames) can be checked, which no kill can show.
 */
import type { Transport } from '../../src/transport/transport.js';

export interface RecordedCall {
  op: string;
  /** The first path argument (or ''). */
  path: string;
  /** The second path argument of rename and link (or ''). */
  to: string;
  /** writeFile's and writeStream's options, when given. */
  sync?: boolean;
  /** The paths of a call given a list of them (hashFiles, statExactMany). */
  paths?: string[];
}

export function recording(real: Transport): { transport: Transport; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const transport = new Proxy(real, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'publishFile') return publishAsSteps(target, calls);
      if (prop === 'renameAllThenStat') return renameAllAsSteps(target, calls);
      if (prop === 'patchFile') return patchAsSteps(target, calls);
      return (...args: unknown[]) => {
        const call: RecordedCall = {
          op: String(prop),
          path: typeof args[0] === 'string' ? args[0] : '',
          to: typeof args[1] === 'string' ? args[1] : '',
        };
        if (Array.isArray(args[0])) call.paths = (args[0] as unknown[]).map(String);
        if (prop === 'writeFile' || prop === 'writeStream')
          call.sync = (args[3] as { sync?: boolean } | undefined)?.sync !== false;
        calls.push(call);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { transport, calls };
}

/** The paths `calls` asked the transport to hash, in the order asked. */
export const hashedPaths = (calls: readonly RecordedCall[]): string[] =>
  calls.filter((c) => c.op === 'hashFiles').flatMap((c) => c.paths ?? []);

/**
 * publishFile (the SSH transport's write, sync and rename in one round trip, after the files
 * `before` it) recorded as the steps it stands for, once the transport has done them (false: not done, the caller does
 * them itself and they are recorded as they come).
 */
function publishAsSteps(real: Transport, calls: RecordedCall[]): Transport['publishFile'] {
  return async (tmp, rel, data, mode, sync, before = []) => {
    const done = await real.publishFile!(tmp, rel, data, mode, sync, before);
    if (done) {
      for (const b of before) {
        calls.push({ op: 'writeFile', path: b.tmp, to: '', sync: false });
        calls.push({ op: 'rename', path: b.tmp, to: b.rel });
      }
      calls.push({ op: 'writeFile', path: tmp, to: '', sync: sync === 'file' });
      if (sync === 'batch') calls.push({ op: 'syncWritten', path: '', to: '' });
      calls.push({ op: 'rename', path: tmp, to: rel });
    }
    return done;
  };
}

/** renameAllThenStat recorded as its renames, then its stats, once the transport has done them. */
function renameAllAsSteps(real: Transport, calls: RecordedCall[]): Transport['renameAllThenStat'] {
  return async (pairs, statAfter) => {
    const done = await real.renameAllThenStat!(pairs, statAfter);
    if (done) {
      for (const [from, to] of pairs) calls.push({ op: 'rename', path: from, to });
      calls.push({ op: 'statExactMany', path: '', to: '', paths: [...statAfter] });
    }
    return done;
  };
}

/** patchFile recorded as itself, then (when it published one) its `after` file's write and rename. */
function patchAsSteps(real: Transport, calls: RecordedCall[]): Transport['patchFile'] {
  return async (base, staged, to, check, parts, mode, after) => {
    calls.push({ op: 'patchFile', path: base, to: staged });
    const done = await real.patchFile!(base, staged, to, check, parts, mode, after);
    if (done && after) {
      calls.push({ op: 'writeFile', path: after.tmp, to: '', sync: true });
      calls.push({ op: 'rename', path: after.tmp, to: after.rel });
    }
    return done;
  };
}
