import type { Redis } from "ioredis";

/**
 * Returns a function to call before sending commands on `redis`: its first call corks the
 * connection's socket until `flushLater` runs the uncork, so the commands sent meanwhile leave in
 * one write (`writev`) instead of a syscall each. Order is kept. The socket corked is the one
 * uncorked, even if a reconnect replaced the connection's socket meanwhile. ioredis's own
 * auto-pipelining does the same with a Pipeline object per batch, which costs about what the
 * saved syscalls save; a cork costs a flag and a callback.
 */
export function batchWrites(redis: Redis, flushLater: (uncork: () => void) => void): () => void {
  let corked: Redis["stream"] | undefined;
  const uncork = () => {
    corked?.uncork();
    corked = undefined;
  };
  return () => {
    if (corked || redis.status !== "ready") return;
    corked = redis.stream;
    corked.cork();
    flushLater(uncork);
  };
}

/** The commands of one tick (until the current operation's `nextTick` queue runs) in one write. */
export function batchWritesPerTick(redis: Redis): () => void {
  return batchWrites(redis, process.nextTick);
}

/**
 * The commands of one turn of the event loop in one write: uncorked in the check phase
 * (`setImmediate`), after the turn's I/O callbacks, so everything a poll phase's callbacks send
 * leaves together.
 */
export function batchWritesPerTurn(redis: Redis): () => void {
  return batchWrites(redis, setImmediate);
}
