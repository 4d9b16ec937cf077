// One presence node in its own process for test/bench/presence.ts, driven over IPC.
import { Redis } from "ioredis";
import { pino } from "pino";
import { createPresence, type Presence, type PresenceDiff } from "@switchboard/presence";

export type WorkerCommand =
  | { cmd: "start"; redisUrl: string; prefix: string; nodeId: string }
  | { cmd: "load"; joinsPerSecond: number; durationMs: number; lifetimeMs: number; topics: number; settleMs: number }
  | { cmd: "track"; topic: string; count: number }
  | { cmd: "watch"; topic: string; keyPrefix: string; count: number };

export type WorkerReport =
  | { type: "ready" }
  | { type: "latencies"; samples: number[]; joins: number }
  | { type: "tracked" }
  | { type: "seen" }
  | { type: "gone"; at: number };

const TICK_MS = 10;
const POLL_MS = 5;
const wallClock = () => performance.timeOrigin + performance.now();

let nodeId = "";
let presence: Presence | undefined;
let measuring = false;
const samples: number[] = [];

function report(message: WorkerReport): void {
  process.send!(message);
}

/** Cross-node latency: a remote join's `sent_at` (wall clock at its track call) to its diff here. */
function onDiff(_topic: string, diff: PresenceDiff): void {
  if (!measuring) return;
  const now = wallClock();
  for (const [key, { metas }] of Object.entries(diff.joins)) {
    if (key.startsWith(`${nodeId}-`)) continue;
    for (const meta of metas) if (typeof meta.sent_at === "number") samples.push(now - meta.sent_at);
  }
}

async function load(command: Extract<WorkerCommand, { cmd: "load" }>): Promise<void> {
  const tracker = presence!;
  measuring = true;
  const started = Date.now();
  let joins = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      // Paced by elapsed time, not by tick count: late ticks catch up instead of lowering the rate.
      const due = Math.min(command.durationMs, Date.now() - started) * (command.joinsPerSecond / 1_000);
      for (; joins < due; joins += 1) {
        const topic = `bench:${joins % command.topics}`;
        const memberId = `${nodeId}-m${joins}`;
        tracker.track(topic, memberId, `${nodeId}-u${joins}`, { sent_at: wallClock() });
        setTimeout(() => tracker.untrack(topic, memberId), command.lifetimeMs);
      }
      if (Date.now() - started >= command.durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, TICK_MS);
  });
  await new Promise((resolve) => setTimeout(resolve, command.settleMs));
  measuring = false;
  report({ type: "latencies", samples, joins });
}

function watch(command: Extract<WorkerCommand, { cmd: "watch" }>): void {
  const present = () => Object.keys(presence!.list(command.topic)).filter((key) => key.startsWith(command.keyPrefix)).length;
  let seen = false;
  const timer = setInterval(() => {
    const count = present();
    if (!seen && count === command.count) {
      seen = true;
      report({ type: "seen" });
    } else if (seen && count === 0) {
      clearInterval(timer);
      report({ type: "gone", at: Date.now() });
    }
  }, POLL_MS);
}

process.on("message", (command: WorkerCommand) => {
  switch (command.cmd) {
    case "start": {
      nodeId = command.nodeId;
      const redis = new Redis(command.redisUrl, { maxRetriesPerRequest: 2 });
      redis.on("error", () => {});
      presence = createPresence({ redis, nodeId, keyPrefix: command.prefix, logger: pino({ level: "warn" }), onDiff });
      void presence.whenReady().then(() => report({ type: "ready" }));
      break;
    }
    case "load":
      void load(command);
      break;
    case "track":
      for (let index = 0; index < command.count; index += 1) presence!.track(command.topic, `${nodeId}-s${index}`, `${nodeId}-u${index}`, {});
      setTimeout(() => report({ type: "tracked" }), 100);
      break;
    case "watch":
      watch(command);
      break;
  }
});
