/**
 * Soak with recovery on (not part of `npm test`): C stock-protocol clients (V2 JSON over `ws`, as
 * phoenix.js speaks it, rejoining with `last_seen` as the history client helper does) on 3
 * gateway nodes, a bridge, and a steady backend publisher on `to:`; a node is SIGKILLed at 1/3 of
 * the run and Redis restarts at 2/3. Counted per (client, message): deliveries, losses,
 * duplicates; per node: RSS drift.
 *
 *   npx tsx test/bench/soak.ts [--clients 2000] [--minutes 10] [--topics 20] [--rate 40]
 *
 * A message counts as sent once PUBLISH reached the bridge (≥ 1 receiver); while Redis is away
 * the publisher retries the same sequence number, so every topic's sent numbers are 1..N.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { startBridge } from "../support/bridge.ts";
import { eventually, startGateways, type GatewayProcess } from "../support/gateway.ts";
import { startRedis } from "../support/redis.ts";
import { rssKiB } from "./procstat.ts";

const flag = (name: string, fallback: number) => {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? fallback : Number(process.argv[index + 1]);
};
const CLIENTS = flag("clients", 2000);
const MINUTES = flag("minutes", 10);
const TOPICS = flag("topics", 20);
const RATE = flag("rate", 40);
const NODES = 3;
const CONNECTS_PER_SECOND = 200;
const HEARTBEAT_MS = 30_000;
/** Reconnects are spread like phoenix.js backoff with jitter, so a killed node's clients do not all land at once. */
const RECONNECT_SPREAD_MS = 2_000;
const RSS_EVERY_MS = 10_000;
const SETTLE_MS = 10_000;
const TOPIC_PREFIX = "rooms:soak:";

interface SoakClient {
  topic: number;
  /** Next sequence number expected on the topic. */
  next: number;
  lastSeen?: string;
  delivered: number;
  duplicates: number;
  lost: number;
  rejoins: number;
  recoveredFalse: number;
}

// Production Redis keeps history across a restart (AOF); without it, entries written just before the restart are gone.
const redis = await startRedis({ appendOnly: true });
const env = { RECOVERY_PATTERNS: `${TOPIC_PREFIX}*`, HISTORY_MAX_LENGTH: "10000", HISTORY_TTL_SECONDS: "600", IDLE_TIMEOUT_MS: "90000", LOG_LEVEL: "error" };
const nodes = await startGateways(NODES, { redisUrl: redis.url, env, nodeId: "soak" });
const bridge = await startBridge({ redisUrl: redis.url, env });
await eventually(async () => (await bridge.status()).leader, "bridge leader", 20_000);
const alive = new Set<GatewayProcess>(nodes);
const clients: SoakClient[] = [];
let stopping = false;
/** Where in the run gaps were seen: before the kill, between kill and Redis restart, after the restart. */
type Phase = "beforeKill" | "afterKill" | "afterRedisRestart";
let phase: Phase = "beforeKill";
const lostByPhase: Record<Phase, number> = { beforeKill: 0, afterKill: 0, afterRedisRestart: 0 };

function connect(client: SoakClient): void {
  const choices = [...alive];
  const node = choices[Math.floor(Math.random() * choices.length)]!;
  const ws = new WebSocket(`${node.wsUrl}/socket/websocket?vsn=2.0.0`);
  const topic = `${TOPIC_PREFIX}${client.topic}`;
  let ref = 0;
  const heartbeat = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify([null, `h${++ref}`, "phoenix", "heartbeat", {}])), HEARTBEAT_MS);
  ws.on("open", () => ws.send(JSON.stringify(["1", "1", topic, "phx_join", client.lastSeen ? { last_seen: client.lastSeen } : {}])));
  ws.on("message", (data: Buffer) => {
    const [, messageRef, , event, payload] = JSON.parse(data.toString()) as [string | null, string | null, string, string, Record<string, unknown>];
    if (event === "phx_reply" && messageRef === "1") {
      const response = payload.response as { recovered?: boolean } | undefined;
      if (response?.recovered === false) client.recoveredFalse++;
      return;
    }
    if (event !== "tick") return;
    const n = payload.n as number;
    if (messageRef) client.lastSeen = messageRef;
    if (n < client.next) client.duplicates++;
    else {
      client.lost += n - client.next;
      lostByPhase[phase] += n - client.next;
      client.delivered++;
      client.next = n + 1;
    }
  });
  ws.on("error", () => undefined);
  ws.on("close", () => {
    clearInterval(heartbeat);
    if (stopping) return;
    client.rejoins++;
    setTimeout(() => connect(client), 100 + Math.random() * RECONNECT_SPREAD_MS);
  });
}

for (let index = 0; index < CLIENTS; index++) {
  const client: SoakClient = { topic: index % TOPICS, next: 1, delivered: 0, duplicates: 0, lost: 0, rejoins: 0, recoveredFalse: 0 };
  clients.push(client);
  connect(client);
  if (index % CONNECTS_PER_SECOND === CONNECTS_PER_SECOND - 1) await new Promise((resolve) => setTimeout(resolve, 1_000));
}
await new Promise((resolve) => setTimeout(resolve, 5_000));

const rss = new Map<string, number[]>(nodes.map((node) => [node.nodeId, []]));
const sampleRss = () => {
  for (const node of alive) rss.get(node.nodeId)!.push(rssKiB(node.child.pid!));
};
sampleRss();
const rssTimer = setInterval(sampleRss, RSS_EVERY_MS);

const publisher = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => 100 });
publisher.on("error", () => undefined);
const sent = new Array<number>(TOPICS).fill(0);
let publishFailures = 0;
const durationMs = MINUTES * 60_000;
const started = Date.now();
const events: string[] = [];
let killed = false;
let restarted = false;
let topic = 0;
while (Date.now() - started < durationMs) {
  const elapsed = Date.now() - started;
  if (!killed && elapsed > durationMs / 3) {
    killed = true;
    const victim = nodes[0]!;
    alive.delete(victim);
    victim.kill("SIGKILL");
    phase = "afterKill";
    events.push(`${Math.round(elapsed / 1000)} s: SIGKILL ${victim.nodeId}`);
  }
  if (!restarted && elapsed > (2 * durationMs) / 3) {
    restarted = true;
    events.push(`${Math.round(elapsed / 1000)} s: Redis restart (1 s down)`);
    void redis.restart(1_000);
    phase = "afterRedisRestart";
  }
  const n = sent[topic]! + 1;
  const receivers = await publisher.publish(`to:${TOPIC_PREFIX}${topic}:tick`, JSON.stringify({ n })).catch(() => 0);
  if (receivers > 0) {
    sent[topic] = n;
    topic = (topic + 1) % TOPICS;
  } else publishFailures++;
  await new Promise((resolve) => setTimeout(resolve, 1_000 / RATE));
}
await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
sampleRss();
clearInterval(rssTimer);

let expected = 0;
const totals = { delivered: 0, lost: 0, duplicates: 0, rejoins: 0, recoveredFalse: 0 };
for (const client of clients) {
  expected += sent[client.topic]!;
  totals.delivered += client.delivered;
  totals.duplicates += client.duplicates;
  totals.rejoins += client.rejoins;
  totals.recoveredFalse += client.recoveredFalse;
  // Never received up to the last sent number: the tail is lost too.
  totals.lost += client.lost + Math.max(0, sent[client.topic]! - (client.next - 1));
}
const rssDrift = Object.fromEntries(
  [...rss].map(([node, samples]) => [node, { firstMiB: +(samples[0]! / 1024).toFixed(1), lastMiB: +(samples.at(-1)! / 1024).toFixed(1), samples: samples.length }]),
);
const result = { clients: CLIENTS, minutes: MINUTES, topics: TOPICS, rate: RATE, events, sent: sent.reduce((a, b) => a + b, 0), publishFailures, expected, ...totals, lostByPhase, rssDrift };
console.log(JSON.stringify(result, null, 2));
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL(`./results/soak-${new Date().toISOString().replace(/[:.]/g, "-")}.json`, import.meta.url), JSON.stringify(result, null, 2));

stopping = true;
publisher.disconnect();
await bridge.stop();
for (const node of alive) await node.stop();
await redis.stop();
process.exit(0);
