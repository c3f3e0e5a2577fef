/**
 * preconnect()'s attempt (Transport.preconnect): a connection started before the caller needs
 * it, whose outcome the next plain connect() takes, whatever it is. It also carries the early
 * look's first peek (rollout/early-look.ts) into the connection's first round trip: queued right
 * behind the file helper's root record (helper-root.ts), before the host has said the target
 * folder is there (helper-peek.ts `atConnect`), instead of in a round trip of its own once it
 * has. Whatever happens to the attempt, that look is answered (null where it was not asked or not run).
 */
import type { Peeked } from '../transport.js';
import type { OpsChannel } from './perl-helper-client.js';
import type { ReadAhead } from './helper-peek.js';

type Seen = Map<string, Peeked> | null;

export class EarlyAttempt {
  private attempt: Promise<void> | undefined;
  /** The attempt ended (its root asked for, or never to be). */
  private ended = false;
  /** Told once the host is at work on the helper's shell (start's promise). */
  private onHostAtWork: (() => void) | undefined;
  private look:
    | { paths: readonly string[]; reads: readonly string[]; answer(seen: Seen | Promise<Seen>): void }
    | undefined;

  /** Run `connect` now; resolves once the host is at work (`hostAtWork`) or the attempt ended. */
  start(connect: () => Promise<void>): Promise<void> {
    if (this.attempt) return Promise.resolve();
    const atWork = new Promise<void>((resolve) => (this.onHostAtWork = resolve));
    this.ended = false;
    const attempt = connect();
    this.attempt = attempt;
    // An attempt that failed before it asked for the root (the handshake, the helper's start).
    const end = () => {
      this.ended = true;
      this.look?.answer(null);
      this.look = undefined;
    };
    void attempt.then(end, end);
    return Promise.race([atWork, attempt.catch(() => undefined)]);
  }

  /** The attempt, for the connect() that takes its outcome (it is then no longer early). */
  take(): Promise<void> | undefined {
    const attempt = this.attempt;
    this.attempt = undefined;
    return attempt;
  }

  /** true once an attempt not yet taken connected, false once it failed; `connected` without one. */
  outcome(connected: boolean): Promise<boolean> {
    return this.attempt
      ? this.attempt.then(
          () => true,
          () => false,
        )
      : Promise.resolve(connected);
  }

  hostAtWork(): void {
    this.onHostAtWork?.();
    this.onHostAtWork = undefined;
  }

  /**
   * Ask for the peek with the root record the attempt is going to send; null at once where it
   * will not (`dialling` false: connected already, the root asked for; or the attempt ended).
   */
  peek(dialling: boolean, paths: readonly string[], reads: readonly string[]): Promise<Seen> {
    if (!this.attempt || this.ended || !dialling || this.look) return Promise.resolve(null);
    return new Promise<Seen>((answer) => (this.look = { paths, reads, answer }));
  }

  /**
   * The root is about to be asked: `ask` queues the look on the helper right behind the root's
   * record (nothing when none is wanted); `done` answers null if it was not asked. Where no
   * early look waits, `then` (connect's `look`: a folder about to be made, and the state folder
   * the deploy looks at next) is asked there, what it saw kept for the reads that follow.
   */
  takeLook(
    ahead: ReadAhead,
    base: string,
    then?: { paths: readonly string[]; reads: readonly string[] },
  ): { ask(helper: OpsChannel): void; done(): void } {
    const look = this.look;
    this.look = undefined;
    return {
      ask: (helper) => {
        if (look) look.answer(ahead.atConnect(helper, base, look.paths, look.reads).catch(() => null));
        else if (then) void ahead.atConnect(helper, base, then.paths, then.reads).catch(() => null);
      },
      // A promise resolved with the look's answer ignores this.
      done: () => look?.answer(null),
    };
  }
}
