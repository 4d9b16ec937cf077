/**
 * Deliveries/s and latency of server → client frames, WebSocket vs LongPoll, over 3 in-process
 * nodes sharing a real Redis. LongPoll clients open their session on one node and send every poll
 * to the next node in turn, so 2 of 3 polls are relayed to the owner. Clients run in a child
 * process; `longpoll-owner` sends every poll to the owner, as a sticky load balancer would. Not part of `npm test`; run: node --import tsx test/transport/delivery-bench.ts [clients] [seconds] [tick ms]
 */
import { spawn } from "node:child_process";
import { Redis } from "ioredis";
import pino from "pino";
import { createRedisLongPollRelay } from "@switchboard/transport";
import type { Connection } from "@switchboard/transport";
import { startRedis } from "../support/redis.ts";
import { startHarness } from "./harness.ts";

const clients = Number(process.argv[2] ?? 1_000);
const seconds = Number(process.argv[3] ?? 5);
const tickMs = Number(process.argv[4] ?? 100);

const CLIENT = `
import WebSocket from "ws";
import { Agent, get } from "node:http";
// node:http, not fetch: fetch's per-request overhead would make the client the bottleneck.
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
const getJson = (url) => new Promise((resolve, reject) => get(url, { agent }, (res) => {
  let body = "";
  res.setEncoding("utf8").on("data", (chunk) => (body += chunk)).on("end", () => resolve(JSON.parse(body)));
}).on("error", reject));
const [mode, count, seconds, ...urls] = process.argv.slice(1);
const kind = mode.startsWith("longpoll") ? "longpoll" : "websocket";
const hop = mode === "longpoll-owner" ? 0 : 1;
const now = () => performance.timeOrigin + performance.now();
const latencies = [];
const record = (text) => latencies.push(now() - JSON.parse(text)[4].t);
let running = true;
if (kind === "websocket") {
  await Promise.all(Array.from({ length: Number(count) }, (_, i) => new Promise((resolve, reject) => {
    const ws = new WebSocket(urls[i % urls.length].replace("http", "ws") + "/socket/websocket?vsn=2.0.0");
    ws.on("message", (data) => running && record(data.toString()));
    ws.once("open", resolve).once("error", reject);
  })));
} else {
  // Sessions open a hundred at a time: a thousand simultaneous connects overflow the listen backlog.
  const tokens = [];
  for (let first = 0; first < Number(count); first += 100) {
    tokens.push(...(await Promise.all(Array.from({ length: Math.min(100, Number(count) - first) }, async (_, k) =>
      (await getJson(urls[(first + k) % urls.length] + "/socket/longpoll?vsn=2.0.0")).token))));
  }
  tokens.forEach((token, i) => {
    let turn = i;
    (async () => {
      while (running) {
        turn += hop;
        const url = urls[turn % urls.length] + "/socket/longpoll?vsn=2.0.0&token=" + encodeURIComponent(token);
        const answer = await getJson(url);
        if (running && answer.status === 200) answer.messages.forEach(record);
      }
    })();
  });
}
process.stdout.write("ready\\n");
setTimeout(() => {
  running = false;
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]?.toFixed(1);
  process.stdout.write(JSON.stringify({ deliveries: latencies.length, p50: at(0.5), p99: at(0.99), max: at(1) }) + "\\n");
  process.exit(0);
}, Number(seconds) * 1000);
`;

const redis = await startRedis();
const logger = pino({ level: "silent" });
const nodes = await Promise.all(
  ["node-a", "node-b", "node-c"].map(async (nodeId) => {
    const connection = new Redis(redis.url);
    const relay = createRedisLongPollRelay({ redis: connection, nodeId, keyPrefix: "bench:", logger });
    await relay.ready;
    const live: Connection[] = [];
    const harness = await startHarness({
      nodeId,
      sendQueueBytes: 64 * 1024 * 1024,
      longPoll: { windowMs: 20_000, sessionTimeoutMs: 15_000, maxBatchLines: 100, relay },
      onConnection(connection) {
        live.push(connection);
        connection.on("close", () => live.splice(live.indexOf(connection), 1));
      },
    });
    return { harness, relay, connection, live };
  }),
);

async function run(mode: "websocket" | "longpoll-owner" | "longpoll-relayed"): Promise<void> {
  const kind = mode === "websocket" ? "websocket" : "longpoll";
  const child = spawn(process.execPath, ["--input-type=module", "-e", CLIENT, mode, String(clients), String(seconds), ...nodes.map((node) => node.harness.url)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: string[] = [];
  const done = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  await new Promise<void>((resolve) =>
    child.stdout.on("data", (data: Buffer) => {
      lines.push(...data.toString().trim().split("\n"));
      if (lines.includes("ready")) resolve();
    }),
  );
  const ticker = setInterval(() => {
    const frame = JSON.stringify([null, null, "bench", "tick", { t: performance.timeOrigin + performance.now() }]);
    for (const node of nodes) for (const connection of node.live) if (connection.transport === kind) connection.write(frame);
  }, tickMs);
  await done;
  clearInterval(ticker);
  const result = JSON.parse(lines.at(-1)!) as { deliveries: number; p50: string; p99: string; max: string };
  console.log(`${mode}: ${clients} clients on 3 nodes, a frame to each every ${tickMs} ms: ${(result.deliveries / seconds).toFixed(0)} deliveries/s, latency p50 ${result.p50} ms, p99 ${result.p99} ms, max ${result.max} ms`);
  for (const node of nodes) for (const connection of [...node.live]) connection.close(1000);
}

await run("websocket");
await run("longpoll-owner");
await run("longpoll-relayed");
for (const node of nodes) {
  await node.relay.close();
  await node.harness.stop();
  node.connection.disconnect();
}
await redis.stop();
process.exit(0);
