/**
 * The bridge hop alone: Redis + one bridge process, no gateway. A backend PUBLISHes
 * `to:<topic>:msg` at a fixed rate, a sink SSUBSCRIBEs the topics' cluster channels (as a gateway
 * with members would) and counts what arrives; the figure is the bridge's CPU (user + system)
 * per message over a window after a warm-up, the least noisy measure of its per-message cost.
 *
 *   npx tsx test/bench/bridge-hop.ts [--rate 1500] [--payload 100] [--warmup 8] [--seconds 10]
 *     [--topics 4] [--tick-ms 1] [--recorded] [--profile] [--bridge-root <checkout>] [--repeat 1]
 *
 * `--bridge-root` runs the bridge of another checkout (with its own libs) for an A/B in one run:
 * both are measured alternately when given twice (`--bridge-root a --bridge-root b`). Each runs
 * from its checkout's bundle, as in the bench (`BENCH_APP_SOURCE=tsx`: from sources).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { startRedis, waitForPort } from "../support/redis.ts";
import { freePort } from "../support/ports.ts";
import { cpuSeconds, machineCpu, mainThreadWakes } from "./procstat.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index < 0 ? fallback : Number(args[index + 1]);
};
const rate = option("rate", 1_500);
const payloadBytes = option("payload", 100);
const warmupSeconds = option("warmup", 8);
const measureSeconds = option("seconds", 10);
const topicCount = option("topics", 4);
const repeat = option("repeat", 1);
/** The backend's publish timer: the bench's load generator publishes every 5 ms, so each of its ticks reaches the bridge as one burst. */
const publishTickMs = option("tick-ms", 1);
const recorded = args.includes("--recorded");
const profile = args.includes("--profile");
const bridgeRoots = args.flatMap((arg, index) => (arg === "--bridge-root" ? [resolve(args[index + 1]!)] : []));
if (bridgeRoots.length === 0) bridgeRoots.push(root);

/** As the bench starts the apps (Dockerfile NODE_OPTIONS). */
const NODE_OPTIONS = "--max-semi-space-size=4";
const PREFIX = "sb:";
const PROFILE_DIR = fileURLToPath(new URL("./results/profiles/", import.meta.url));
/** Messages still arriving after the last publish: the sink waits this long for stragglers. */
const DRAIN_MS = 1_000;

const topicName = (index: number) => `hop:${index}`;
/** The sharded adapter's channel for a topic room (libs/cluster naming: room `t:<topic>`, never 20 characters here). */
const clusterChannel = (topic: string) => `${PREFIX}cluster#/#t:${topic}#`;

/**
 * As the bench runs it (app-launch.ts): the checkout's esbuild bundle, built once per checkout,
 * unless BENCH_APP_SOURCE=tsx. tsx's keepNames gives every closure made per message a
 * defineProperty, which the shipped bridge does not pay.
 */
const bundledRoots = new Set<string>();
function bridgeArgs(bridgeRoot: string): string[] {
  if (process.env.BENCH_APP_SOURCE === "tsx") return ["--import", "tsx", "apps/bridge/src/main.ts"];
  if (!bundledRoots.has(bridgeRoot)) {
    execFileSync(process.execPath, ["scripts/bundle.mjs", "bridge"], { cwd: bridgeRoot, stdio: ["ignore", "ignore", "inherit"] });
    bundledRoots.add(bridgeRoot);
  }
  return ["apps/bridge/dist/main.js"];
}

async function startBridge(bridgeRoot: string, redisUrl: string): Promise<{ child: ChildProcess; healthUrl: string }> {
  const port = await freePort();
  if (profile) mkdirSync(PROFILE_DIR, { recursive: true });
  const child = spawn(process.execPath, [...(profile ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : []), ...bridgeArgs(bridgeRoot)], {
    cwd: bridgeRoot,
    env: {
      ...process.env,
      REDIS_URL: redisUrl,
      PORT: String(port),
      NODE_ID: "hop-bridge",
      LOG_LEVEL: "warn",
      NODE_OPTIONS,
      ...(recorded ? { RECOVERY_PATTERNS: "hop:*" } : {}),
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  await waitForPort(port, 20_000);
  const healthUrl = `http://127.0.0.1:${port}/healthz`;
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    const status = (await fetch(healthUrl).then((response) => response.json(), () => ({}))) as { leader?: boolean };
    if (status.leader) return { child, healthUrl };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("bridge did not take the lease");
}

/** Publishes `rate` messages per second for `seconds`, spread over timer ticks as a backend would send them. */
async function publishFor(publisher: Redis, seconds: number, payload: Buffer, firstId: number): Promise<number> {
  const startedAt = performance.now();
  let sent = 0;
  const total = Math.round(rate * seconds);
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - startedAt) / 1000) * rate));
    for (; sent < due; sent++) {
      const id = firstId + sent;
      void publisher.publish(`to:${topicName(id % topicCount)}:msg`, payload);
    }
    await new Promise((resolve) => setTimeout(resolve, publishTickMs));
  }
  return sent;
}

async function measure(bridgeRoot: string): Promise<{ microsPerMessage: number; wakesPerMessage: number; redisMicrosPerMessage: number; sent: number; received: number; busy: number }> {
  const redis = await startRedis();
  const publisher = new Redis(redis.url);
  const sink = new Redis(redis.url);
  let received = 0;
  sink.on("smessageBuffer", () => received++);
  for (let index = 0; index < topicCount; index++) await sink.ssubscribe(clusterChannel(topicName(index)));
  const redisPid = Number(/process_id:(\d+)/.exec(await publisher.info("server"))?.[1]);
  const bridge = await startBridge(bridgeRoot, redis.url);
  try {
    const payload = Buffer.from(JSON.stringify({ text: "x".repeat(Math.max(0, payloadBytes - 12)) }));
    await publishFor(publisher, warmupSeconds, payload, 0);
    await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
    const receivedBefore = received;
    const cpuBefore = cpuSeconds(bridge.child.pid!);
    const wakesBefore = mainThreadWakes(bridge.child.pid!);
    const redisCpuBefore = cpuSeconds(redisPid);
    const machineBefore = machineCpu();
    const sent = await publishFor(publisher, measureSeconds, payload, 0);
    await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
    const cpu = cpuSeconds(bridge.child.pid!) - cpuBefore;
    const wakes = mainThreadWakes(bridge.child.pid!) - wakesBefore;
    const redisCpu = cpuSeconds(redisPid) - redisCpuBefore;
    const machineAfter = machineCpu();
    const busy = (machineAfter.busy - machineBefore.busy) / (machineAfter.busy - machineBefore.busy + machineAfter.idle - machineBefore.idle);
    return { microsPerMessage: (cpu / sent) * 1e6, wakesPerMessage: wakes / sent, redisMicrosPerMessage: (redisCpu / sent) * 1e6, sent, received: received - receivedBefore, busy };
  } finally {
    await new Promise<void>((resolve) => {
      bridge.child.once("exit", () => resolve());
      bridge.child.kill("SIGTERM");
    });
    publisher.disconnect();
    sink.disconnect();
    await redis.stop();
  }
}

process.stdout.write(`rate ${rate}/s, payload ${payloadBytes} B, ${topicCount} topics, published every ${publishTickMs} ms${recorded ? ", recorded" : ""}, warm-up ${warmupSeconds} s, measured ${measureSeconds} s\n`);
for (let round = 0; round < repeat; round++) {
  for (const bridgeRoot of bridgeRoots) {
    const result = await measure(bridgeRoot);
    const label = bridgeRoot === resolve(root) ? "this checkout" : bridgeRoot;
    process.stdout.write(
      `${label}: ${result.microsPerMessage.toFixed(1)} µs bridge CPU per message, ${result.wakesPerMessage.toFixed(2)} wakes per message, Redis ${result.redisMicrosPerMessage.toFixed(1)} (${result.received}/${result.sent} delivered, machine ${(result.busy * 100).toFixed(0)}% busy)\n`,
    );
  }
}
