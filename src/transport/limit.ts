/**
 * Bounded concurrency. SFTP pipelines requests, but every open file holds a
 * server handle and every in-flight buffer holds memory, so bulk work runs a
 * fixed number of tasks at a time.
 */

export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

/** A function that runs at most `max` tasks at once, queuing the rest in order. */
export function createLimiter(max: number): Limiter {
  let active = 0;
  const queue: Array<() => void> = [];
  // A finishing task hands its slot straight to the next waiter, so `active` never overshoots.
  const release = () => {
    const waiter = queue.shift();
    if (waiter) waiter();
    else active--;
  };
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active < max) active++;
    else await new Promise<void>((resolve) => queue.push(resolve));
    try {
      return await task();
    } finally {
      release();
    }
  };
}

// One mapLimit for the whole code base: it lets in-flight calls finish before rejecting.
export { mapLimit } from '../pool.js';
