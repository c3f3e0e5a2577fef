/**
 * Fencing for the lock's lease (issue 13: a stall on our side). Another deploy
 * may take a target over once our lease ran out unrenewed (lock.ts), so a
 * deploy that was paused (SIGSTOP, a suspended VM, a starved event loop) past
 * its lease must not go on writing when it wakes: the new owner may be in the
 * middle of its own commit. The fence knows, by this process's monotonic clock,
 * until when the last lease written is surely still ours — a quarter of the
 * lease is left as margin for other machines' clocks — and every write to the
 * target checks it first (fenced-transport.ts): no round trip, just a clock read.
 * Once past it, or once a renewal found the lock held by someone else, the
 * deploy is stopped for good with one line; it never revives the lease, since
 * a renewal racing a takeover could overwrite the new owner's lock.
 */
import { DiffshipError } from '../errors.js';

/** Thrown by a write after the lock was lost: nothing more is done to the target, not even an undo. */
class LockLostError extends DiffshipError {
  constructor(message: string) {
    super('E_LOCK', message);
    this.name = 'LockLostError';
  }
}

export function isLockLost(error: unknown): error is LockLostError {
  return error instanceof LockLostError;
}

export class LeaseFence {
  private validUntil: number;
  private lost: LockLostError | null = null;

  constructor(
    private readonly description: string,
    private readonly leaseMs: number,
    /** performance.now() taken before the lock (with its lease) was written. */
    writtenAt: number,
  ) {
    this.validUntil = this.until(writtenAt);
  }

  private until(writtenAt: number): number {
    return writtenAt + this.leaseMs - this.leaseMs / 4;
  }

  /** A renewal that started at `startedAt` (performance.now()) wrote a new lease. */
  renewed(startedAt: number): void {
    if (this.lost === null) this.validUntil = Math.max(this.validUntil, this.until(startedAt));
  }

  /** Whether the lease may have run out (by this process's clock). */
  expired(): boolean {
    return performance.now() > this.validUntil;
  }

  /** The lock is someone else's now (`holder` says whose), or gone. */
  lose(holder: string): void {
    this.lost ??= new LockLostError(
      `${this.description}: this deploy lost its lock to ${holder}; it stopped and changed nothing more on the target — run \`diffship status\`, then deploy again`,
    );
  }

  /** Throws LockLostError when the lock is lost or its lease may have run out. */
  check(): void {
    if (this.lost === null && this.expired())
      this.lost = new LockLostError(
        `${this.description}: this deploy lost its lock — it was paused (or could not renew its lease) for longer than the ${Math.round(this.leaseMs / 1000)} s lease, so another deploy may have taken the target over; it stopped and changed nothing more on the target — run \`diffship status\`, then deploy again`,
      );
    if (this.lost !== null) throw this.lost;
  }
}
