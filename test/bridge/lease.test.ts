import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { pino } from "pino";
import { createLeaderLease, type LeaderLease } from "../../apps/bridge/src/lease.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { eventually } from "../support/gateway.ts";

const timing = { ttlMs: 600, renewEveryMs: 100, acquireRetryMs: 50, safetyMarginMs: 100 };
const logger = pino({ level: "silent" });

let redis: RedisProcess;
const connections: Redis[] = [];
const leases: LeaderLease[] = [];

before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const lease of leases) await lease.release();
  for (const connection of connections) connection.disconnect();
  await redis?.stop();
});

function contender(key: string, holder: string) {
  const connection = new Redis(redis.url, { maxRetriesPerRequest: 1, commandTimeout: 300, retryStrategy: () => 50 });
  connection.on("error", () => {});
  connections.push(connection);
  const lease = createLeaderLease({ redis: connection, key, holder, logger, ...timing });
  leases.push(lease);
  return { connection, lease };
}

test("exactly one of three contenders leads, and keeps leading while it renews", async () => {
  const all = ["a", "b", "c"].map((holder) => contender("lease:steady", holder));
  await eventually(() => all.some(({ lease }) => lease.isLeader()), "someone leads", 2_000);
  const leader = all.find(({ lease }) => lease.isLeader());
  for (let i = 0; i < 15; i++) {
    assert.equal(all.filter(({ lease }) => lease.isLeader()).length, 1);
    assert.equal(leader?.lease.isLeader(), true, "leadership does not flap while renewals succeed");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

test("a graceful release hands over at once (announced on the released channel)", async () => {
  const first = contender("lease:release", "first");
  await eventually(() => first.lease.isLeader(), "first leads", 2_000);
  const second = contender("lease:release", "second");
  const listener = new Redis(redis.url);
  connections.push(listener);
  await listener.subscribe(first.lease.releasedChannel);
  listener.on("message", () => second.lease.tryNow());

  const released = performance.now();
  await first.lease.release();
  await eventually(() => second.lease.isLeader(), "second takes over", 2_000);
  const gap = performance.now() - released;
  // Well under the TTL: the lease was deleted, not left to expire.
  assert.ok(gap < timing.ttlMs / 2, `handover took ${gap.toFixed(0)} ms`);
  assert.equal(first.lease.isLeader(), false);
});

test("a leader cut off from Redis stops acting before a standby can start: no overlap", async () => {
  const first = contender("lease:crash", "first");
  await eventually(() => first.lease.isLeader(), "first leads", 2_000);
  const second = contender("lease:crash", "second");
  const cutAt = performance.now();
  first.connection.disconnect();

  let firstStoppedAt = 0;
  let secondStartedAt = 0;
  await eventually(
    () => {
      const now = performance.now();
      if (!firstStoppedAt && !first.lease.isLeader()) firstStoppedAt = now;
      if (!secondStartedAt && second.lease.isLeader()) secondStartedAt = now;
      assert.ok(!(first.lease.isLeader() && second.lease.isLeader()), "two leaders at once");
      return secondStartedAt > 0;
    },
    "second takes over",
    3_000,
  );
  assert.ok(firstStoppedAt > 0 && firstStoppedAt <= secondStartedAt, "the old leader stopped first");
  const gap = secondStartedAt - cutAt;
  // TTL + one retry, with slack for a loaded machine's timers.
  assert.ok(gap <= timing.ttlMs + timing.acquireRetryMs + 400, `takeover after ${gap.toFixed(0)} ms`);
});
