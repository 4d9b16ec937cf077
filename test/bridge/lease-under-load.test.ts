import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { pino } from "pino";
import { createIngest, type Ingest } from "../../apps/bridge/src/ingest.ts";
import { createLeaderLease, type LeaderLease } from "../../apps/bridge/src/lease.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { eventually } from "../support/gateway.ts";

// The stall outlasts the leader's own deadline (ttl - margin = 600 ms) but not the key's TTL, so
// no standby can take over: the leader must carry on and lose nothing.
const timing = { ttlMs: 1_000, renewEveryMs: 100, acquireRetryMs: 50, safetyMarginMs: 400 };
const STALL_MS = 750;
const BURST = 200;
const STALL_ATTEMPTS = 3;
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

/** Only the lease's connection has a command timeout: the stall would trip it for the others. */
function connect(commandTimeout?: number): Redis {
  const connection = new Redis(redis.url, { maxRetriesPerRequest: 1, commandTimeout });
  connection.on("error", () => {});
  connections.push(connection);
  return connection;
}

/** A bridge replica reduced to its lease and ingest; its cluster records the forwarded events. */
async function replica(holder: string): Promise<{ lease: LeaderLease; ingest: Ingest; forwarded: string[] }> {
  const lease = createLeaderLease({ redis: connect(300), key: "lease:load", holder, logger, ...timing });
  leases.push(lease);
  const forwarded: string[] = [];
  const ingest = createIngest({
    cluster: { broadcast: async ({ event }) => void forwarded.push(event), reply: async () => true },
    lease,
    logger,
  });
  const subscriber = connect();
  subscriber.on("pmessageBuffer", (_pattern: Buffer, channel: Buffer, data: Buffer) => ingest.receive(channel, data));
  await subscriber.psubscribe("to:*");
  return { lease, ingest, forwarded };
}

function stallEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test("a leader stalled past its own deadline, lease still its own, forwards every message once; the standby none", async () => {
  const leader = await replica("leader");
  await eventually(() => leader.lease.isLeader(), "leader leads", 2_000);
  const standby = await replica("standby");
  const publisher = connect();
  const sent: string[] = [];
  const publish = (count: number) =>
    Promise.all(
      Array.from({ length: count }, () => {
        const event = `m${sent.length}`;
        sent.push(event);
        return publisher.publish(`to:load:${event}`, "{}");
      }),
    );

  await publish(50);
  // Right after a renewal the stall is sure to pass the deadline and end before the key expires.
  // Whether the burst is read before the next renewal's answer is up to the event loop (both
  // sockets are readable at once after the stall), so the stall is repeated until it was.
  for (let attempt = 0; attempt < STALL_ATTEMPTS && leader.ingest.stats.awaitedRenewal === 0; attempt++) {
    let stalledAlready = false;
    const stalled = new Promise<void>((resolve) =>
      leader.lease.on("renewed", function stallOnce() {
        if (stalledAlready) return;
        stalledAlready = true;
        void publish(BURST); // written to the socket now, delivered to the subscribers during the stall
        stallEventLoop(STALL_MS);
        resolve();
      }),
    );
    await stalled;
    await eventually(() => leader.forwarded.length >= sent.length, "burst forwarded", 3_000);
  }
  await publish(50);
  await eventually(() => leader.forwarded.length >= sent.length, "later messages forwarded", 3_000);

  assert.deepEqual(leader.forwarded, sent, "every message once, in order");
  assert.deepEqual(standby.forwarded, [], "the standby never forwarded");
  assert.ok(leader.ingest.stats.awaitedRenewal > 0, "the stall did pass the leader's deadline");
  assert.equal(leader.ingest.stats.standby, 0);
  assert.equal(leader.lease.isLeader(), true);
});
