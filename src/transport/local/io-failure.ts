// A Node error of a local call, as the TransportError that names the path and the target.
import { TransportError } from '../../errors.js';

/** `error` of `op` on `rel` in `base` (`detail` after the path): a link is E_UNSAFE, the rest E_TRANSPORT. */
export function ioFailure(
  base: string,
  op: string,
  rel: string,
  error: unknown,
  detail = '',
): TransportError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP')
    return new TransportError(
      'E_UNSAFE',
      `refusing to ${op} ${JSON.stringify(rel)}${detail} in ${base}: it is a symlink`,
      { cause: error },
    );
  const why = code ?? (error instanceof Error ? error.message : String(error));
  return new TransportError(
    'E_TRANSPORT',
    `cannot ${op} ${JSON.stringify(rel)}${detail} in ${base}: ${why}`,
    {
      cause: error,
    },
  );
}
