import { EventEmitter } from "node:events";
import { performance } from "node:perf_hooks";
import type { Redis } from "ioredis";
import type { Logger } from "pino";

/**
 * Failover window: a standby takes over at most this long (plus one acquire retry) after the
 * leader died without releasing. Shorter makes a stalled leader (GC pause, slow Redis) lose the
 * lease while it is still alive.
 */
export const LEASE_TTL_MS = 2_000;
/** Four renewals per TTL: three may be lost or slow before the leader steps down. */
export const RENEW_EVERY_MS = 500;
/** How often a standby asks for a lease it does not hold; adds at most this to the failover gap. */
export const ACQUIRE_RETRY_MS = 200;
/**
 * The leader stops acting this long before Redis could hand the lease to a standby, so a message
 * the old leader still forwards and one the new leader forwards can never be the same one (covers
 * pub/sub delivery skew between replicas and clock rate differences).
 */
export const SAFETY_MARGIN_MS = 300;

// Compare-and-act: only the holder may extend or drop the lease. A holder may also put back a
// key that is gone (ARGV[3] = "1"): 1 renewed, 2 re-created, 0 another holder has it or it lapsed.
const RENEW_SCRIPT = `local current = redis.call("GET", KEYS[1])
if current == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end
if current == false and ARGV[3] == "1" then redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2]) return 2 end
return 0`;
const RELEASE_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`;

export interface LeaseOptions {
  /** The lease's own command connection: a renewal queued behind bulk traffic arrives late. */
  redis: Redis;
  key: string;
  /** Unique per process: the lease value. */
  holder: string;
  logger: Logger;
  ttlMs?: number;
  renewEveryMs?: number;
  acquireRetryMs?: number;
  safetyMarginMs?: number;
}

export interface LeaderLease {
  /** True only while the last confirmed acquire/renewal is fresher than TTL minus the safety margin. */
  isLeader(): boolean;
  /** Whether this replica still counts itself the holder, even while a late renewal is pending. */
  isHolding(): boolean;
  /**
   * Monotonic time (performance.now) until which the last confirmed acquire/renewal lets this
   * replica act; a renewal that confirms the lease later moves it on and emits "renewed".
   */
  validUntil(): number;
  /** Pub/sub channel on which a leader announces a graceful release; standbys then call `tryNow`. */
  readonly releasedChannel: string;
  /** Ask for the lease at once instead of at the next retry. */
  tryNow(): void;
  /** Leadership gained (true) or lost (false). */
  on(event: "change", listener: (leader: boolean) => void): void;
  /** A renewal confirmed the lease and moved `validUntil` on. */
  on(event: "renewed", listener: () => void): void;
  /** Stops renewing; if held, deletes the lease and announces it so a standby takes over at once. */
  release(): Promise<void>;
}

/**
 * A leader lease in Redis: `SET key holder NX PX ttl` to acquire, compare-and-PEXPIRE to renew.
 * Times are measured on this process's monotonic clock from the moment a command was sent, so
 * the local view of the lease always ends before Redis's.
 *
 * A Redis that restarts without persistence forgets the key. Nobody can have held it since, as
 * long as no replica acquires within one TTL of losing its own connection: the old holder's
 * lease ran at most that long past the outage. So a replica that lost its connection waits one
 * TTL from the loss before acquiring, and within that window the holder puts the missing key back
 * and carries on: backend messages keep flowing through a Redis restart instead of being dropped
 * while the lease is re-contested.
 */
export function createLeaderLease(options: LeaseOptions): LeaderLease {
  const ttlMs = options.ttlMs ?? LEASE_TTL_MS;
  const renewEveryMs = options.renewEveryMs ?? RENEW_EVERY_MS;
  const acquireRetryMs = options.acquireRetryMs ?? ACQUIRE_RETRY_MS;
  const safetyMarginMs = options.safetyMarginMs ?? SAFETY_MARGIN_MS;
  const { redis, key, holder } = options;
  const log = options.logger.child({ lease: key });
  const events = new EventEmitter();

  let held = false;
  // One warning per outage: standbys retry every few hundred milliseconds.
  let failing = false;
  let validUntil = 0;
  let stopped = false;
  let stepping = false;
  let timer: NodeJS.Timeout | undefined;
  /** When this replica's connection last dropped (monotonic); see the restart rule above. */
  let connectionLostAt = Number.NEGATIVE_INFINITY;
  let connected = redis.status === "ready";
  const withinRestartWindow = (at: number) => at < connectionLostAt + ttlMs;

  const setHeld = (leader: boolean, why: string) => {
    if (held === leader) return;
    held = leader;
    log.info({ leader, why }, leader ? "lease acquired: forwarding" : "lease lost: standing by");
    events.emit("change", leader);
  };

  const schedule = (delayMs: number) => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(step, delayMs);
  };

  const step = async () => {
    if (stopped || stepping) return;
    stepping = true;
    const sentAt = performance.now();
    try {
      if (held) {
        // Even past its deadline the holder asks again: if the key still carries its token nobody
        // else can have held the lease meanwhile, so it simply carries on.
        const mayRecreate = sentAt < validUntil || withinRestartWindow(sentAt);
        const renewed = await redis.eval(RENEW_SCRIPT, 1, key, holder, String(ttlMs), mayRecreate ? "1" : "0");
        if ((renewed === 1 || renewed === 2) && held) {
          if (renewed === 2) log.info("lease key was gone (Redis lost its data): put back, still forwarding");
          validUntil = sentAt + ttlMs - safetyMarginMs;
          events.emit("renewed");
        } else if (held) setHeld(false, "the lease expired or another holder has it");
      } else if (withinRestartWindow(sentAt)) {
        // A holder that lost Redis at the same moment may still be acting on its lease.
      } else {
        const acquired = await redis.set(key, holder, "PX", ttlMs, "NX");
        if (acquired === "OK" && !stopped) {
          validUntil = sentAt + ttlMs - safetyMarginMs;
          setHeld(true, "lease was free");
        }
      }
      failing = false;
    } catch (error) {
      log[failing ? "debug" : "warn"]({ err: error instanceof Error ? error.message : error }, "lease command failed");
      failing = true;
      // Within the restart window the holder keeps its claim (it stopped acting at its deadline):
      // the renewal that gets through decides, and may put a lost key back.
      const now = performance.now();
      if (held && now >= validUntil && !withinRestartWindow(now)) setHeld(false, "renewals did not get through in time");
    } finally {
      stepping = false;
      // A holder past its deadline asks again at once (messages wait on the answer), unless Redis
      // just refused: then at the standby pace, or an outage would spin on failing commands.
      if (held && performance.now() >= validUntil) schedule(failing ? acquireRetryMs : 0);
      else schedule(held ? renewEveryMs : acquireRetryMs);
    }
  };

  redis.on("close", () => {
    if (connected) connectionLostAt = performance.now();
    connected = false;
  });
  redis.on("ready", () => {
    connected = true;
    // Back after an outage: the holder confirms (or puts back) its lease at once.
    if (held) schedule(0);
  });
  schedule(0);

  const lease: LeaderLease = {
    releasedChannel: `${key}:released`,
    isLeader: () => held && performance.now() < validUntil,
    isHolding: () => held,
    validUntil: () => (held ? validUntil : 0),
    tryNow() {
      if (!held) schedule(0);
    },
    on(event: string, listener: (leader: boolean) => void) {
      events.on(event, listener);
    },
    async release() {
      stopped = true;
      clearTimeout(timer);
      if (!held) return;
      held = false;
      events.emit("change", false);
      try {
        const released = await redis.eval(RELEASE_SCRIPT, 1, key, holder);
        if (released === 1) await redis.publish(lease.releasedChannel, holder);
        log.info("lease released");
      } catch (error) {
        log.warn({ err: error instanceof Error ? error.message : error }, "lease release failed; it expires by itself");
      }
    },
  };
  return lease;
}
