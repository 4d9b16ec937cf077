/**
 * Where a gateway's idle memory goes, per connection. Starts K real gateway nodes (with a memory
 * probe) and one Redis, opens C idle clients in a separate process, then joins client i to bridge
 * topic i mod T (T = C by default: the bench's idle-memory scenario, presence tracked; T = 1 is its
 * fan-out; all joins at once, as the bench sends a node's joins, unless --join-wave says how many at a
 * time), and prints, between the steps, bytes per connection summed over the nodes: RSS as the
 * bench reads it (no GC), then after full GCs RSS, V8 heap (used, reserved), the rest of the RSS
 * and off-heap buffers. With --no-gc no step collects garbage: every column is then read as the
 * bench reads RSS, in a heap that still holds what the burst left behind. With --snapshot, also the heap grown per connection by constructor
 * (self and retained sizes, from heap snapshots; taking them inflates the RSS). With --allocations
 * promoted, also the bytes the join step promoted to old space per allocation site (V8's sampling
 * heap profiler, from before the joins to after the last reading), live data and the garbage a
 * burst leaves there until a major GC; --allocations live shows the live part alone, so two runs
 * tell per site what the burst promoted and left dead; --allocations allocated, everything the
 * join step allocated.
 *
 *   node --import tsx test/bench/memory.ts [--clients 10000] [--topics <clients>] [--nodes 2] [--join-wave <clients>] [--no-gc] [--settle-ms 2000] [--snapshot] [--allocations allocated|promoted|live]
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { TEST_SECRET } from "../support/gateway.ts";
import { freePort } from "../support/ports.ts";
import { startRedis } from "../support/redis.ts";
import { APP_LAUNCH_ENV } from "./app-launch.ts";
import type { ClientsReply, ClientsRequest } from "./memory/clients.ts";
import type { ProbeReply, ProbeRequest } from "./memory/node.ts";

const { values: flags } = parseArgs({
  options: { clients: { type: "string", default: "10000" }, topics: { type: "string" }, nodes: { type: "string", default: "2" }, "join-wave": { type: "string" }, "no-gc": { type: "boolean", default: false }, "settle-ms": { type: "string", default: "2000" }, snapshot: { type: "boolean", default: false }, allocations: { type: "string" } },
});
const CLIENTS = Number(flags.clients);
/** One topic per client unless told: the bench's idle-memory scenario (--topics 1 is its fan-out). */
const TOPICS = Number(flags.topics ?? flags.clients);
const NODES = Number(flags.nodes);
/** Joins sent at once: all by default, the bench's burst (a smaller wave grows the young generation and the allocator less). */
const JOIN_WAVE = Number(flags["join-wave"] ?? flags.clients);
/** Rows of the constructor table: the largest growths per connection. */
const TOP_CLASSES = 30;
/** Rows of the allocation-site table: the sites that promoted the most per connection. */
const TOP_SITES = 30;
/**
 * Let the last joins' follow-ups (presence flush, admin announcements) finish before measuring;
 * longer (--settle-ms) to see what V8's own later collections give back.
 */
const SETTLE_MS = Number(flags["settle-ms"]);
const root = fileURLToPath(new URL("../..", import.meta.url));
const sampleKind = flags.allocations;
if (sampleKind !== undefined && sampleKind !== "allocated" && sampleKind !== "promoted" && sampleKind !== "live") throw new Error("--allocations allocated|promoted|live");

type Measured = Extract<ProbeReply, { type: "measured" }>;
type Classes = Extract<ProbeReply, { type: "snapshot" }>["classes"];
type Sites = Extract<ProbeReply, { type: "sites" }>;
type ClassSize = Classes[string];

function ask<Reply>(child: ChildProcess, request: unknown, until: string): Promise<Reply> {
  return new Promise((resolve) => {
    const onMessage = (reply: { type: string }) => {
      if (reply.type !== until) return;
      child.off("message", onMessage);
      resolve(reply as Reply);
    };
    child.on("message", onMessage);
    if (request !== undefined) child.send(request as object);
  });
}

async function startNode(redisUrl: string, index: number): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = fork(fileURLToPath(new URL("./memory/node.ts", import.meta.url)), [], {
    cwd: root,
    execArgv: ["--expose-gc", "--import", "tsx"],
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", REDIS_URL: redisUrl, NODE_ID: `memory-${index}`, JWT_SECRET: TEST_SECRET, LOG_LEVEL: "warn", IDLE_TIMEOUT_MS: "600000", ...APP_LAUNCH_ENV },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const listening = await ask<Extract<ProbeReply, { type: "listening" }>>(child, undefined, "listening");
  return { child, url: listening.url.replace(/^http/, "ws") };
}

const redis = await startRedis();
const nodes = await Promise.all(Array.from({ length: NODES }, (_, i) => startNode(redis.url, i + 1)));
const clients = fork(fileURLToPath(new URL("./memory/clients.ts", import.meta.url)), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "ignore", "inherit", "ipc"] });

interface Stage {
  name: string;
  measured: Measured[];
  classes?: Classes[];
}

async function stage(name: string): Promise<Stage> {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const measured = await Promise.all(nodes.map(({ child }) => ask<Measured>(child, { type: "measure", collect: !flags["no-gc"] } satisfies ProbeRequest, "measured")));
  const result: Stage = { name, measured };
  if (flags.snapshot) {
    // One at a time: a snapshot of each node at once would not fit this machine's memory twice over.
    result.classes = [];
    for (const { child } of nodes) result.classes.push((await ask<Extract<ProbeReply, { type: "snapshot" }>>(child, { type: "snapshot" } satisfies ProbeRequest, "snapshot")).classes);
  }
  return result;
}

async function clientStep(request: ClientsRequest): Promise<ClientsReply> {
  const reply = await ask<ClientsReply>(clients, request, "done");
  if (reply.failed > 0) throw new Error(`${request.type}: ${reply.failed} of ${reply.ok + reply.failed} failed`);
  return reply;
}

const stages: Stage[] = [];
let sites: Sites[] = [];
try {
  stages.push(await stage("started"));
  await clientStep({ type: "open", urls: nodes.map((node) => node.url), clients: CLIENTS });
  stages.push(await stage("connected"));
  if (sampleKind) await Promise.all(nodes.map(({ child }) => ask(child, { type: "sample", kind: sampleKind } satisfies ProbeRequest, "sampling")));
  await clientStep({ type: "join", topicPrefix: "bench:", topics: TOPICS, secret: TEST_SECRET, wave: JOIN_WAVE });
  stages.push(await stage("joined"));
  if (sampleKind) sites = await Promise.all(nodes.map(({ child }) => ask<Sites>(child, { type: "sites" } satisfies ProbeRequest, "sites")));
} finally {
  clients.disconnect();
  for (const { child } of nodes) child.disconnect();
  await redis.stop();
}

const perConnection = (bytes: number) => (bytes / CLIENTS / 1024).toFixed(2);
const sum = (stage: Stage, pick: (m: Measured) => number) => stage.measured.reduce((total, m) => total + pick(m), 0);
const columns: Array<[string, (m: Measured) => number]> = [
  ["RSS, no GC (bench)", (m) => m.rssBeforeGc],
  ["RSS after GC", (m) => m.rss],
  ["V8 heap used", (m) => m.heapUsed],
  ["V8 heap reserved, unused", (m) => m.heapTotal - m.heapUsed],
  ["of which young generation", (m) => m.newSpaceSize - m.newSpaceUsed],
  ["RSS outside the V8 heap", (m) => m.rss - m.heapTotal],
  ["external (incl. array buffers)", (m) => m.external],
];
console.log(`\n${CLIENTS} clients over ${NODES} node(s), joined to ${TOPICS} bridge topic(s), ${JOIN_WAVE} joins at a time; KiB per connection, all nodes summed\n`);
console.log(`| step | ${columns.map(([name]) => name).join(" | ")} |`);
console.log(`| --- | ${columns.map(() => "---:").join(" | ")} |`);
for (let i = 1; i < stages.length; i++) {
  const [before, after] = [stages[i - 1]!, stages[i]!];
  console.log(`| ${before.name} → ${after.name} | ${columns.map(([, pick]) => perConnection(sum(after, pick) - sum(before, pick))).join(" | ")} |`);
}
const [first, last] = [stages[0]!, stages[stages.length - 1]!];
console.log(`| total | ${columns.map(([, pick]) => perConnection(sum(last, pick) - sum(first, pick))).join(" | ")} |`);

if (flags.snapshot) {
  for (let i = 1; i < stages.length; i++) {
    const [before, after] = [stages[i - 1]!, stages[i]!];
    const growth = new Map<string, ClassSize>();
    for (const [n, classes] of after.classes!.entries()) {
      for (const [label, { count, bytes, retained }] of Object.entries(classes)) {
        const was = before.classes![n]![label] ?? { count: 0, bytes: 0, retained: 0 };
        const entry = growth.get(label) ?? { count: 0, bytes: 0, retained: 0 };
        growth.set(label, { count: entry.count + count - was.count, bytes: entry.bytes + bytes - was.bytes, retained: entry.retained + retained - was.retained });
      }
    }
    const top = [...growth].sort((a, b) => b[1].retained - a[1].retained).slice(0, TOP_CLASSES);
    console.log(`\nHeap growth ${before.name} → ${after.name} by constructor, per connection (retained: what its instances alone keep alive; overlaps between classes)\n`);
    console.log("| constructor | objects/conn | self bytes/conn | retained bytes/conn |");
    console.log("| --- | ---: | ---: | ---: |");
    for (const [label, { count, bytes, retained }] of top) {
      console.log(`| ${label} | ${(count / CLIENTS).toFixed(2)} | ${(bytes / CLIENTS).toFixed(0)} | ${(retained / CLIENTS).toFixed(0)} |`);
    }
  }
}
if (sampleKind) {
  const bySite = new Map<string, number>();
  for (const node of sites) for (const [site, bytes] of Object.entries(node.bytes)) bySite.set(site, (bySite.get(site) ?? 0) + bytes);
  const total = [...bySite.values()].reduce((sum, bytes) => sum + bytes, 0);
  console.log(`\n${{ allocated: "Allocated", promoted: "Promoted (live or not)", live: "Live" }[sampleKind]} in the join step per allocation site (sampled), bytes per connection, all nodes: ${(total / CLIENTS).toFixed(0)} in all\n`);
  console.log("| allocation site (innermost first) | bytes/conn |");
  console.log("| --- | ---: |");
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, TOP_SITES)) console.log(`| ${site} | ${(bytes / CLIENTS).toFixed(0)} |`);
}
process.exit(0);
