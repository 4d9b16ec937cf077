import type { Logger } from "pino";
import type { Cluster } from "@switchboard/cluster";

export const SYSTEM_TOPIC = "system";
export const DATETIME_EVENT = "datetime";

export interface SystemClockOptions {
  cluster: Pick<Cluster, "broadcast">;
  /** Cluster-wide tick number: one Redis counter survives failovers and restarts. */
  nextCounter: () => Promise<number>;
  isLeader: () => boolean;
  tickMs: number;
  logger: Logger;
}

/** tangram's `system` channel payload: `{"status":"ok","response":{"datetime":<RFC 3339>,"counter":N}}`. */
export function datetimePayload(now: Date, counter: number) {
  return { status: "ok", response: { datetime: now.toISOString(), counter } };
}

/**
 * The `datetime` push on `system`, sent by the lease holder only, so clients get one tick per
 * interval whichever bridge replica and gateway they use. Ticks are scheduled against the start
 * time, so a slow Redis round trip does not make the interval drift.
 */
export function startSystemClock(options: SystemClockOptions): { stop(): void } {
  const { cluster, nextCounter, isLeader, tickMs, logger } = options;
  const started = Date.now();
  let tick = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const fire = async () => {
    if (!isLeader()) return;
    try {
      const counter = await nextCounter();
      if (!isLeader()) return;
      await cluster.broadcast({ topic: SYSTEM_TOPIC, event: DATETIME_EVENT, payload: datetimePayload(new Date(), counter) });
    } catch (error) {
      logger.warn({ err: error instanceof Error ? error.message : error }, "system tick failed");
    }
  };

  const schedule = () => {
    if (stopped) return;
    // After a stall, missed ticks are skipped rather than sent in a burst.
    tick = Math.max(tick + 1, Math.floor((Date.now() - started) / tickMs) + 1);
    const due = started + tick * tickMs;
    timer = setTimeout(() => {
      void fire();
      schedule();
    }, Math.max(0, due - Date.now()));
  };
  schedule();

  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
