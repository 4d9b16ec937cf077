/**
 * Presence benchmark (run by hand, not part of `npm test`):
 *
 *   node --import tsx test/bench/presence.ts            full: 20 s of load, 3 kills, 1,000,000 churn cycles
 *   node --import tsx test/bench/presence.ts --quick    smoke-sized
 *   node --import tsx test/bench/presence.ts --only latency,dead,churn
 *
 * 1. Cross-node `presence_diff` latency, 3 node processes, 1,000 joins/s in total (each join
 *    leaves again after a second): wall clock from a remote `track` call to the diff on a node.
 * 2. Dead-node cleanup: a node holding 100 entries is SIGKILLed; time until both survivors list
 *    none of them.
 * 3. Memory under churn: one topic with 1,000 live members, join/leave cycles on the owner, a
 *    replica node following over Redis; Yjs state bytes and heap after 10,000 cycles and after
 *    1,000,000 (the goal: ≤ 1.5×).
 *
 * Writes test/bench/results/presence-<timestamp>.json.
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { converged, startNode, waitFor } from "../presence/nodes.ts";
import type { WorkerCommand, WorkerReport } from "./presence-worker.ts";

const quick = process.argv.includes("--quick");
const onlyIndex = process.argv.indexOf("--only");
const parts = new Set(onlyIndex > 0 ? (process.argv[onlyIndex + 1] ?? "").split(",") : ["latency", "dead", "churn"]);
const scale = (full: number, small: number) => (quick ? small : full);
const LOAD = { joinsPerSecond: 1_000, durationMs: scale(20_000, 4_000), lifetimeMs: 1_000, topics: 10, settleMs: 1_500 };
const KILL_TRIALS = scale(3, 1);
const DEAD_ENTRIES = 100;
const LIVE_MEMBERS = 1_000;
const CHURN_CHECKPOINTS = quick ? [10_000, 50_000] : [10_000, 100_000, 500_000, 1_000_000];
const CYCLES_PER_BATCH = 2_000;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

interface Worker {
  child: ChildProcess;
  send(command: WorkerCommand): void;
  next<T extends WorkerReport["type"]>(type: T): Promise<Extract<WorkerReport, { type: T }>>;
}

function startWorker(redisUrl: string, prefix: string, nodeId: string): Worker {
  const child = fork(new URL("./presence-worker.ts", import.meta.url).pathname, [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const worker: Worker = {
    child,
    send: (command) => child.send(command),
    next: (type) =>
      new Promise((resolve) => {
        const listener = (message: WorkerReport) => {
          if (message.type !== type) return;
          child.off("message", listener);
          resolve(message as Extract<WorkerReport, { type: typeof type }>);
        };
        child.on("message", listener);
      }),
  };
  worker.send({ cmd: "start", redisUrl, prefix, nodeId });
  return worker;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const round = (value: number) => Math.round(value * 100) / 100;

async function latency(redis: RedisProcess) {
  const workers = [0, 1, 2].map((index) => startWorker(redis.url, "bench-latency:", `n${index}`));
  await Promise.all(workers.map((worker) => worker.next("ready")));
  const reports = workers.map((worker) => worker.next("latencies"));
  for (const worker of workers) worker.send({ cmd: "load", ...LOAD, joinsPerSecond: LOAD.joinsPerSecond / workers.length });
  const results = await Promise.all(reports);
  for (const worker of workers) worker.child.kill("SIGKILL");
  const samples = results.flatMap((result) => result.samples).sort((a, b) => a - b);
  const joins = results.reduce((sum, result) => sum + result.joins, 0);
  return {
    nodes: workers.length,
    joinsPerSecond: round(joins / (LOAD.durationMs / 1_000)),
    samples: samples.length,
    // Each remote join must reach each of the two other nodes exactly once.
    expectedSamples: joins * (workers.length - 1),
    p50Ms: round(percentile(samples, 50)),
    p99Ms: round(percentile(samples, 99)),
    maxMs: round(samples.at(-1) ?? Number.NaN),
  };
}

async function deadNodeCleanup(redis: RedisProcess) {
  const survivors = [startWorker(redis.url, "bench-dead:", "survivor0"), startWorker(redis.url, "bench-dead:", "survivor1")];
  await Promise.all(survivors.map((worker) => worker.next("ready")));
  const trials: number[] = [];
  for (let trial = 0; trial < KILL_TRIALS; trial += 1) {
    const victimId = `victim${trial}`;
    const victim = startWorker(redis.url, "bench-dead:", victimId);
    await victim.next("ready");
    const seen = survivors.map((worker) => worker.next("seen"));
    const gone = survivors.map((worker) => worker.next("gone"));
    for (const worker of survivors) worker.send({ cmd: "watch", topic: "dead", keyPrefix: `${victimId}-`, count: DEAD_ENTRIES });
    victim.send({ cmd: "track", topic: "dead", count: DEAD_ENTRIES });
    await Promise.all(seen);
    // Kill at a random point of the refresh cycle, as a real crash would.
    await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 1_000));
    const killedAt = Date.now();
    victim.child.kill("SIGKILL");
    const goneAt = Math.max(...(await Promise.all(gone)).map((report) => report.at));
    trials.push(goneAt - killedAt);
  }
  for (const worker of survivors) worker.child.kill("SIGKILL");
  return { entries: DEAD_ENTRIES, trialsMs: trials, maxMs: Math.max(...trials), targetMs: 5_000 };
}

async function churnMemory(redis: RedisProcess) {
  const owner = startNode(redis.url, "bench-churn:", "owner");
  const replica = startNode(redis.url, "bench-churn:", "replica");
  await Promise.all([owner.presence.whenReady(), replica.presence.whenReady()]);
  for (let index = 0; index < LIVE_MEMBERS; index += 1) owner.presence.track("churn", `m${index}`, `u${index}`, { online_at: String(index) });
  let next = LIVE_MEMBERS;
  let cycles = 0;
  const checkpoints: Array<Record<string, number>> = [];
  const started = Date.now();
  for (const target of CHURN_CHECKPOINTS) {
    while (cycles < target) {
      for (let batch = 0; batch < CYCLES_PER_BATCH && cycles < target; batch += 1, cycles += 1, next += 1) {
        owner.presence.untrack("churn", `m${next - LIVE_MEMBERS}`);
        owner.presence.track("churn", `m${next}`, `u${next}`, { online_at: String(next) });
      }
      owner.diffs.length = 0;
      replica.diffs.length = 0;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await waitFor(() => converged([owner, replica], "churn") && replica.presence.list("churn")[`u${next - 1}`] !== undefined, 30_000, "replica to catch up");
    owner.diffs.length = 0;
    replica.diffs.length = 0;
    gc();
    checkpoints.push({
      cycles,
      ownerStateBytes: owner.presence.encodedStateBytes(),
      replicaStateBytes: replica.presence.encodedStateBytes(),
      heapUsedBytes: process.memoryUsage().heapUsed,
      liveEntriesOnReplica: replica.presence.entries(),
      elapsedMs: Date.now() - started,
    });
    console.log(`churn: ${JSON.stringify(checkpoints.at(-1))}`);
  }
  await Promise.all([owner.close(), replica.close()]);
  const first = checkpoints[0]!;
  const last = checkpoints.at(-1)!;
  return {
    liveMembers: LIVE_MEMBERS,
    checkpoints,
    stateRatio: round(last.replicaStateBytes! / first.replicaStateBytes!),
    heapRatio: round(last.heapUsedBytes! / first.heapUsedBytes!),
    goal: "≤ 1.5× from the first checkpoint to the last",
  };
}

const redis = await startRedis();
try {
  const result = {
    benchmark: "presence",
    at: new Date().toISOString(),
    quick,
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    // Load average at the start: on a shared machine latency figures mean little without it.
    loadAverage: loadavg().map(round),
    latency: parts.has("latency") ? await latency(redis) : undefined,
    deadNodeCleanup: parts.has("dead") ? await deadNodeCleanup(redis) : undefined,
    churnMemory: parts.has("churn") ? await churnMemory(redis) : undefined,
  };
  const dir = new URL("./results/", import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const file = `${dir}presence-${result.at.replaceAll(":", "-").replace(".", "-")}.json`;
  writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
  console.log(JSON.stringify(result, null, 2));
  console.log(`written to ${file}`);
} finally {
  await redis.stop();
}
