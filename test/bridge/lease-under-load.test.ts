import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { pino } from "pino";
import { createIngest, type Ingest } from "../../apps/bridge/src/ingest.ts";
import { createLeaderLease, type LeaderLease } from "../../apps/bridge/src/lease.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { stallEventLoop } from "../support/event-loop.ts";
import { eventually } from "../support/gateway.ts";

// The stall outlasts the leader's own deadline (ttl - margin = 600 ms) but not the key's TTL, so
// no standby can take over: the leader must carry on and lose nothing.
const timing = { ttlMs: 1_000, renewEveryMs: 100, acquireRetryMs: 50, safetyMarginMs: 400 };
const STALL_MS = 750;
const BURST = 200;
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

interface Replica {
  lease: LeaderLease;
  ingest: Ingest;
  forwarded: string[];
  /** Messages its subscriber has read, before the ingest judged them. */
  received(): number;
  /** The answer of the next renewal is handed to the lease only once `until` holds. */
  holdNextRenewalAnswer(until: () => boolean): void;
}

/** A bridge replica reduced to its lease and ingest; its cluster records the forwarded events. */
async function replica(holder: string): Promise<Replica> {
  const leaseConnection = connect(300);
  let hold: (() => boolean) | undefined;
  const evaluate = leaseConnection.eval.bind(leaseConnection) as (...args: Array<string | number>) => Promise<unknown>;
  // Delays only the answer: Redis has renewed the key when the command was sent, as a slow reply would.
  Object.assign(leaseConnection, {
    eval: async (...args: Array<string | number>) => {
      const until = hold;
      hold = undefined;
      const answer = await evaluate(...args);
      if (until) await eventually(until, "the held renewal's condition", 3_000);
      return answer;
    },
  });
  const lease = createLeaderLease({ redis: leaseConnection, key: "lease:load", holder, logger, ...timing });
  leases.push(lease);
  const forwarded: string[] = [];
  let received = 0;
  const ingest = createIngest({
    cluster: { broadcast: async ({ event }) => void forwarded.push(event), reply: async () => true },
    lease,
    logger,
  });
  const subscriber = connect();
  subscriber.on("pmessageBuffer", (_pattern: Buffer, channel: Buffer, data: Buffer) => {
    received++;
    ingest.receive(channel, data);
  });
  await subscriber.psubscribe("to:*");
  return { lease, ingest, forwarded, received: () => received, holdNextRenewalAnswer: (until) => (hold = until) };
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
  await eventually(() => leader.forwarded.length >= sent.length, "first messages forwarded", 3_000);
  // Right after a renewal the stall is sure to pass the deadline and end before the key expires.
  // After the stall the burst and the next renewal's answer can be readable at once, and which
  // one the event loop reads first is up to it; the answer is held until the burst was read, so
  // the burst is read past the deadline with that renewal pending, every time.
  let stalledAlready = false;
  const stalled = new Promise<void>((resolve) =>
    leader.lease.on("renewed", function stallOnce() {
      if (stalledAlready) return;
      stalledAlready = true;
      void publish(BURST); // written to the socket now, delivered to the subscribers during the stall
      stallEventLoop(STALL_MS);
      leader.holdNextRenewalAnswer(() => leader.received() >= sent.length);
      resolve();
    }),
  );
  await stalled;
  await eventually(() => leader.forwarded.length >= sent.length, "burst forwarded", 3_000);
  await publish(50);
  await eventually(() => leader.forwarded.length >= sent.length, "later messages forwarded", 3_000);

  assert.deepEqual(leader.forwarded, sent, "every message once, in order");
  assert.deepEqual(standby.forwarded, [], "the standby never forwarded");
  assert.ok(leader.ingest.stats.awaitedRenewal >= BURST, "the burst, read past the deadline, awaited the renewal");
  assert.equal(leader.ingest.stats.standby, 0);
  assert.equal(leader.lease.isLeader(), true);
});
