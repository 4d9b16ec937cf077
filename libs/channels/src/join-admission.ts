/**
 * Joins a node starts between two turns of its event loop. In a reconnect storm libuv hands every
 * socket with data to one poll phase, so thousands of joins run in one turn, and everything a join
 * leaves for the end of the turn (replies corked until the turn's writes go out, Redis commands
 * batched per turn, the presence flush timer) lives until the last of them ran: across scavenges,
 * into old space, where it stays resident as garbage until a major GC. A join allocates ≈ 20 KiB
 * on the joined node; 64 of them fit in a young generation of a few MiB (the image runs
 * `--max-semi-space-size=4`), so a turn's garbage dies young, and the turns stay short enough for
 * timers and Redis answers to be served during a storm.
 */
export const JOINS_PER_TURN = 64;

/**
 * Admission of joins, shared by every socket of a node. Past its budget in a turn a join waits, in
 * arrival order, for a later turn; a waiting join holds its decoded frame and a promise, a few
 * hundred bytes, instead of a started join's replies, Redis commands and presence changes.
 */
export interface JoinAdmission {
  /** Undefined when the join may start now, else a promise resolved in the turn it may start. */
  admit(): Promise<void> | undefined;
  /** Joins waiting for a later turn. */
  readonly queued: number;
}

export function createJoinAdmission(joinsPerTurn = JOINS_PER_TURN): JoinAdmission {
  return new TurnAdmission(joinsPerTurn);
}

/**
 * A turn's budget is spent from its first join to its check phase (an immediate queued by that
 * first join, so it runs before the immediates that flush the turn's writes and Redis commands).
 * Waiting joins are released from a timer set there: it runs in the next turn, after those flushes
 * and after the poll phase read what had arrived (Redis answers, more frames).
 */
class TurnAdmission implements JoinAdmission {
  /** Joins started in this turn (admitted at once or released). */
  private started = 0;
  private readonly waiting: Array<() => void> = [];
  /** Index of the first waiting join: a long queue is not shifted one join at a time. */
  private head = 0;

  constructor(private readonly joinsPerTurn: number) {}

  get queued(): number {
    return this.waiting.length - this.head;
  }

  admit(): Promise<void> | undefined {
    if (this.queued === 0 && this.started < this.joinsPerTurn) {
      this.start(1);
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private start(joins: number): void {
    if (this.started === 0) setImmediate(this.endTurn);
    this.started += joins;
  }

  private readonly endTurn = (): void => {
    this.started = 0;
    if (this.queued > 0) setTimeout(this.release, 0);
  };

  private readonly release = (): void => {
    const end = Math.min(this.waiting.length, this.head + this.joinsPerTurn);
    const batch = this.waiting.slice(this.head, end);
    this.head = end;
    // Released joins leave the array at once when they are most of it (amortised: constant time per join).
    if (this.head * 2 >= this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
    this.start(batch.length);
    for (const resolve of batch) resolve();
  };
}
