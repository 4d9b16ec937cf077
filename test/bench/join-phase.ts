/**
 * The bench's join phases alone, without its publishing (run by hand, under the bench lock):
 *
 *   npx tsx test/bench/join-phase.ts [--scenario fanout|join-rate] [--clients n] [--rounds 3] [--profile]
 *
 * Two gateway nodes (the image's bundles and launch settings), the clients' sockets spread over
 * them and opened first; then every join of node 1's clients at once, then node 2's. `fanout`:
 * 2,000 clients on one bridge topic with one token (so one presence key, as in the bench);
 * `join-rate`: 1,000 clients joining 20 topics each, a token per topic. Per node: joins/s,
 * server CPU per join (both nodes), and what the clients received while joining, by event:
 * frames and bytes per join, and how many distinct `presence_state`s (sizes in entries) the
 * joiners got. The clients count bytes and look at each frame's head only, so the harness itself
 * stays cheap. `--profile`: the nodes write V8 CPU profiles, and each join window is printed on
 * their clock, to be cut out of them.
 */
import { parseArgs } from "node:util";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import jwt from "jsonwebtoken";
import WebSocket from "ws";
import { startRedis, waitForPort } from "../support/redis.ts";
import { freePort } from "../support/ports.ts";
import { TEST_SECRET } from "../support/gateway.ts";
import { APP_LAUNCH_ENV, appArgs } from "./app-launch.ts";
import { cpuSeconds, machineCpu } from "./procstat.ts";

const { values: flags } = parseArgs({
  options: { scenario: { type: "string", default: "fanout" }, clients: { type: "string" }, rounds: { type: "string", default: "3" }, profile: { type: "boolean", default: false } },
});
const SCENARIOS = { fanout: { clients: 2000, joinsPerClient: 1 }, "join-rate": { clients: 1000, joinsPerClient: 20 } } as const;
const scenario = SCENARIOS[flags.scenario as keyof typeof SCENARIOS];
if (!scenario) throw new Error(`--scenario: one of ${Object.keys(SCENARIOS).join(", ")}`);
const CLIENTS = Number(flags.clients ?? scenario.clients);
const JOINS_PER_CLIENT = scenario.joinsPerClient;
const ROUNDS = Number(flags.rounds);
const NODES = 2;
const CONNECT_WAVE = 200;
/** Pushes that may still be on their way after the last reply (the large topic's diff window, and some). */
const SETTLE_MS = 500;
const root = fileURLToPath(new URL("../..", import.meta.url));
/** `--profile`: the nodes run with --cpu-prof and write here when they stop (SIGINT). */
const PROFILE_DIR = fileURLToPath(new URL("./results/profiles/", import.meta.url));
const PROFILE_WRITE_MS = 5_000;

interface Counts {
  frames: Map<string, number>;
  bytes: Map<string, number>;
  /** presence_state sizes (metas counted by their phx_ref) → joiners that got one of that size. */
  stateSizes: Map<number, number>;
}

const EVENT_AT = /^\[[^,]*,[^,]*,"[^"]*","([a-z_]+)"/;

function count(counts: Counts, text: string): void {
  const event = EVENT_AT.exec(text.slice(0, 200))?.[1] ?? "other";
  counts.frames.set(event, (counts.frames.get(event) ?? 0) + 1);
  counts.bytes.set(event, (counts.bytes.get(event) ?? 0) + text.length);
  if (event === "presence_state") {
    const entries = text.split('"phx_ref"').length - 1;
    counts.stateSizes.set(entries, (counts.stateSizes.get(entries) ?? 0) + 1);
  }
}

async function startNode(redisUrl: string, index: number, children: ChildProcess[]): Promise<string> {
  const port = await freePort();
  const profiling = flags.profile ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profiling, ...appArgs("gateway")], {
    cwd: root,
    env: { ...process.env, ...APP_LAUNCH_ENV, REDIS_URL: redisUrl, HOST: "127.0.0.1", LOG_LEVEL: "warn", PORT: String(port), NODE_ID: `fanout-${index}`, JWT_SECRET: TEST_SECRET, IDLE_TIMEOUT_MS: "120000" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.push(child);
  await waitForPort(port, 20_000);
  return `ws://127.0.0.1:${port}`;
}

interface Client {
  ws: WebSocket;
  /** Its join frames (join_ref = ref = the join's position), sent at once. */
  joins: string[];
  /** Where its frames are counted, while a node's joins are measured. */
  counts: Counts | undefined;
  unanswered: number;
  answered: (() => void) | undefined;
}

/** Client `index`'s join frames: the one topic for all, or topics of its own with a token each. */
function joinFrames(index: number, roundIndex: number): string[] {
  return Array.from({ length: JOINS_PER_CLIENT }, (_, position) => {
    const topic = JOINS_PER_CLIENT === 1 ? `bench-fanout-join:${roundIndex}` : `bench-join-rate:${roundIndex}:${index * JOINS_PER_CLIENT + position}`;
    const ref = JSON.stringify(String(position + 1));
    const token = tokenFor(topic, JOINS_PER_CLIENT === 1 ? "bench-0" : `bench-${index * JOINS_PER_CLIENT + position}`);
    return `[${ref},${ref},${JSON.stringify(topic)},"phx_join",{"token":"${token}"}]`;
  });
}

const tokens = new Map<string, string>();
function tokenFor(topic: string, id: string): string {
  let token = tokens.get(topic);
  if (!token) tokens.set(topic, (token = jwt.sign({ id, channel: topic }, TEST_SECRET, { expiresIn: "1h" })));
  return token;
}

function open(url: string, joins: string[]): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/socket/websocket?vsn=2.0.0`);
    const client: Client = { ws, joins, counts: undefined, unanswered: 0, answered: undefined };
    ws.on("message", (data: Buffer) => {
      if (!client.counts) return;
      const text = data.toString("latin1");
      count(client.counts, text);
      if (!text.startsWith("[null,") && text.includes('"phx_reply"') && --client.unanswered === 0) client.answered?.();
    });
    ws.once("open", () => resolve(client));
    ws.once("error", reject);
  });
}

async function round(redisUrl: string, roundIndex: number): Promise<void> {
  const children: ChildProcess[] = [];
  try {
    const urls: string[] = [];
    for (let i = 0; i < NODES; i++) urls.push(await startNode(redisUrl, i + 1, children));
    const clients: Client[] = [];
    for (let i = 0; i < CLIENTS; i += CONNECT_WAVE) {
      clients.push(...(await Promise.all(Array.from({ length: Math.min(CONNECT_WAVE, CLIENTS - i) }, (_, j) => open(urls[(i + j) % NODES]!, joinFrames(i + j, roundIndex))))));
    }
    const pids = children.map((child) => child.pid!);
    for (let node = 0; node < NODES; node++) {
      const members = clients.filter((_, index) => index % NODES === node);
      const counts: Counts = { frames: new Map(), bytes: new Map(), stateSizes: new Map() };
      const cpuBefore = pids.map(cpuSeconds);
      const machineBefore = machineCpu();
      const started = performance.now();
      const startedTicks = monotonicMicros();
      // Every socket counts (the members joined before receive the diffs these joins cause); only the members answer.
      for (const client of clients) client.counts = counts;
      const answers = members.map((client) => new Promise<void>((resolve) => ((client.unanswered = client.joins.length), (client.answered = resolve))));
      for (const client of members) for (const frame of client.joins) client.ws.send(frame);
      await Promise.all(answers);
      const ms = performance.now() - started;
      // The profiles' timestamps are on the same monotonic clock: the join window can be cut out of them.
      if (flags.profile) process.stdout.write(`  joins of node ${node + 1} in monotonic µs ${startedTicks}–${monotonicMicros()}\n`);
      const cpuByNode = pids.map((pid, index) => cpuSeconds(pid) - cpuBefore[index]!);
      const cpu = cpuByNode.reduce((sum, seconds) => sum + seconds, 0);
      const machineAfter = machineCpu();
      const busy = (machineAfter.busy - machineBefore.busy) / (machineAfter.busy + machineAfter.idle - machineBefore.busy - machineBefore.idle);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const joins = members.length * JOINS_PER_CLIENT;
      const perJoin = (map: Map<string, number>) => [...map].map(([event, value]) => `${event} ${(value / joins).toFixed(event === "phx_reply" ? 2 : 1)}`).join(", ");
      const sizes = [...counts.stateSizes].sort((a, b) => a[0] - b[0]);
      process.stdout.write(
        `round ${roundIndex + 1} node ${node + 1}: ${joins} joins in ${ms.toFixed(0)} ms (${((joins / ms) * 1000).toFixed(0)}/s), server CPU ${((cpu / joins) * 1e6).toFixed(0)} µs/join (${cpuByNode.map((seconds, index) => `node ${index + 1} ${((seconds / joins) * 1e6).toFixed(0)}`).join(", ")}), machine ${(busy * 100).toFixed(0)} % busy\n` +
          `  frames/join: ${perJoin(counts.frames)}\n  KiB/join: ${[...counts.bytes].map(([event, bytes]) => `${event} ${(bytes / joins / 1024).toFixed(1)}`).join(", ")}\n` +
          `  presence_state: ${sizes.length} distinct sizes, entries ${sizes.map(([entries, joiners]) => `${entries}×${joiners}`).join(" ")}\n`,
      );
      for (const client of clients) client.counts = undefined;
    }
    for (const client of clients) client.ws.terminate();
  } finally {
    await Promise.all(children.map((child) => stop(child)));
  }
}

function monotonicMicros(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/** A profiled node is stopped gently, so that it writes its profile. */
function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  if (!flags.profile) {
    child.kill("SIGKILL");
    return exited;
  }
  child.kill("SIGINT");
  const timer = setTimeout(() => child.kill("SIGKILL"), PROFILE_WRITE_MS);
  return exited.finally(() => clearTimeout(timer));
}

const redis = await startRedis();
try {
  for (let i = 0; i < ROUNDS; i++) await round(redis.url, i);
} finally {
  await redis.stop();
}
