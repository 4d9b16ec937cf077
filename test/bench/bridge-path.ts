/**
 * The bridge's JavaScript per backend message, in process (run by hand):
 *
 *   node --import tsx test/bench/bridge-path.ts [--burst 8] [--bursts 800] [--rounds 30] [--topics 100] [--gap-ms 0] [--payload 100]
 *
 * The bridge's own ingest, forwarder and cluster over a real Redis (no lease: always the holder),
 * fed `to:` messages as its subscription hands them over: `--burst` per event-loop turn, the next
 * burst once every SPUBLISH of the last one was answered (`--gap-ms` later: 5 is the steady
 * scenario's publish tick, run cold between ticks). CPU time of this process per message (the
 * answers' reads included); the minimum over rounds, as other processes on the machine only add
 * to it. The cluster's count of answered publishes must match what was fed in. tsx's keepNames
 * makes every closure dearer than in the shipped bundle: for an A/B, bundle this file with esbuild
 * (npm packages external) for each checkout.
 */
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { pino } from "pino";
import { batchWritesPerTick, createCluster } from "@switchboard/cluster";
import { createHistory } from "@switchboard/history";
import { createForwarder } from "../../apps/bridge/src/forwarder.ts";
import { createIngest } from "../../apps/bridge/src/ingest.ts";
import { startRedis } from "../support/redis.ts";

const { values: flags } = parseArgs({
  options: {
    burst: { type: "string", default: "8" },
    bursts: { type: "string", default: "800" },
    rounds: { type: "string", default: "30" },
    topics: { type: "string", default: "100" },
    "gap-ms": { type: "string", default: "0" },
    payload: { type: "string", default: "100" },
  },
});
const BURST = Number(flags.burst);
const BURSTS = Number(flags.bursts);
const ROUNDS = Number(flags.rounds);
const TOPICS = Number(flags.topics);
const GAP_MS = Number(flags["gap-ms"]);
const PREFIX = "sb:";

const logger = pino({ level: "silent" });
const redisServer = await startRedis();
const redis = new Redis(redisServer.url, { commandTimeout: 1_000, maxRetriesPerRequest: 2 });

const cluster = createCluster({ redis, nodeId: "path-bench", keyPrefix: PREFIX, logger });
const history = createHistory({ redis, keyPrefix: PREFIX, patterns: [], maxLength: 100, ttlSeconds: 60, logger });
const forwarder = createForwarder({ history, holder: "path-bench:1", cluster, redis, logger, batchWrites: batchWritesPerTick(redis) });
const lease = { isHolding: () => true, validUntil: () => Number.POSITIVE_INFINITY, on: () => undefined };
const ingest = createIngest({ cluster: { broadcast: forwarder.forward, reply: cluster.reply.bind(cluster) }, lease, logger });

const channels = Array.from({ length: TOPICS }, (_, index) => Buffer.from(`to:path:${index}:msg`));
const payload = Buffer.from(JSON.stringify({ text: "x".repeat(Math.max(0, Number(flags.payload) - 12)) }));
if (redis.status !== "ready") await new Promise<void>((resolve) => redis.once("ready", () => resolve()));

/** Resolves once the forwarder has nothing unanswered. */
const settled = () =>
  new Promise<void>((resolve) => {
    const check = () => (forwarder.pending === 0 ? resolve() : setImmediate(check));
    check();
  });

async function round(): Promise<number> {
  let next = 0;
  const before = process.cpuUsage();
  for (let burst = 0; burst < BURSTS; burst++) {
    for (let index = 0; index < BURST; index++) ingest.receive(channels[next++ % TOPICS]!, payload);
    await settled();
    if (GAP_MS > 0) await new Promise((resolve) => setTimeout(resolve, GAP_MS));
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / (BURSTS * BURST);
}

const results: number[] = [];
for (let index = 0; index < ROUNDS; index++) results.push(await round());
const expected = ROUNDS * BURSTS * BURST;
const arrived = cluster.stats.published;
process.stdout.write(
  `burst ${BURST}, gap ${GAP_MS} ms, ${TOPICS} topics: min ${Math.min(...results).toFixed(2)} µs CPU per message (rounds ${results.map((value) => value.toFixed(2)).join(", ")}); ${arrived}/${expected} published\n`,
);
await cluster.close();
redis.disconnect();
await redisServer.stop();
if (arrived !== expected) process.exitCode = 1;
