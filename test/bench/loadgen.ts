/**
 * Load generator, run as a forked child of the bench runner so its CPU never counts as the
 * server's. It opens C clients spread over the target's nodes, joins T topics through the real
 * join path, publishes M messages at a target rate through the real backend path, and accounts
 * for every (client, message) pair: loss, duplicates, wrong topic, latency.
 */
import { Redis } from "ioredis";
import jwt from "jsonwebtoken";
import WebSocket from "ws";
import { io as ioClient, type Socket as IoSocket } from "socket.io-client";
import { Emitter } from "@socket.io/redis-emitter";
import { percentile } from "./procstat.ts";

export type Target = "switchboard" | "raw-ws" | "socketio";
export type PublishPath = "to" | "handler";

export type Command =
  | { type: "connect"; target: Target; urls: string[]; clients: number; topics: number; topicPrefix: string; secret?: string; redisUrl: string }
  | { type: "publish"; messages: number; rate: number; payloadBytes: number; path: PublishPath; settleMs: number }
  /** Join storm: once the clients of a killed node see their socket close, all rejoin through the first node at once. */
  | { type: "storm"; expected: number; timeoutMs: number };

export interface PublishResult {
  expected: number;
  delivered: number;
  lost: number;
  duplicates: number;
  wrongTopic: number;
  publishSeconds: number;
  deliverySeconds: number;
  deliveriesPerSecond: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number };
}

interface Client {
  topic: number;
  received: Uint8Array;
  closed: Promise<void>;
  close(): void;
}

const now = () => performance.timeOrigin + performance.now();
const send = (message: unknown) => process.send?.(message);

let clients: Client[] = [];
let topics = 0;
let topicPrefix = "";
let messages = 0;
let latencies = new Float64Array(0);
let latencyCount = 0;
let firstPublishAt = 0;
let lastDeliveryAt = 0;
let wrongTopic = 0;
let target: Target = "switchboard";
let urls: string[] = [];
let redisUrl = "";
let handlerPublisher: WebSocket | undefined;

function record(client: Client, payload: { id: number; t: number }): void {
  const at = now();
  if (payload.id % topics !== client.topic) {
    wrongTopic++;
    return;
  }
  if (client.received[payload.id]! < 255) client.received[payload.id]!++;
  if (latencyCount < latencies.length) latencies[latencyCount++] = at - payload.t;
  lastDeliveryAt = at;
}

function topicName(index: number): string {
  return `${topicPrefix}${index}`;
}

function phoenixClient(url: string, topic: number, token: string | undefined): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/socket/websocket?vsn=2.0.0`);
    const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
    const client: Client = { topic, received: new Uint8Array(0), closed, close: () => ws.terminate() };
    const heartbeat = setInterval(() => ws.send('[null,"hb","phoenix","heartbeat",{}]'), 25_000);
    ws.on("open", () => ws.send(JSON.stringify(["1", "1", topicName(topic), "phx_join", token ? { token } : {}])));
    ws.on("message", (data: Buffer) => {
      const text = data.toString();
      if (text.startsWith("[null,null,")) {
        if (!text.includes('"bench"') && !text.includes('"new_msg"')) return;
        const frame = JSON.parse(text) as [null, null, string, string, { id: number; t: number }];
        record(client, frame[4]);
      } else if (text.startsWith('["1","1"')) {
        const frame = JSON.parse(text) as [string, string, string, string, { status: string; response: unknown }];
        if (frame[3] === "phx_reply") {
          if (frame[4].status === "ok") resolve(client);
          else reject(new Error(`join refused: ${JSON.stringify(frame[4].response)}`));
        }
      }
    });
    ws.on("error", reject);
    ws.on("close", () => {
      clearInterval(heartbeat);
      reject(new Error("socket closed before the join reply"));
    });
  });
}

function socketIoClient(url: string, topic: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket: IoSocket = ioClient(url, { transports: ["websocket"], forceNew: true, reconnection: false });
    const closed = new Promise<void>((resolve) => socket.once("disconnect", () => resolve()));
    const client: Client = { topic, received: new Uint8Array(0), closed, close: () => socket.disconnect() };
    socket.on("bench", (payload: { id: number; t: number }) => record(client, payload));
    socket.on("connect", () => socket.emit("join", topicName(topic), () => resolve(client)));
    socket.on("connect_error", reject);
  });
}

const tokens = new Map<number, string>();
let secret: string | undefined;

function tokenFor(topic: number): string | undefined {
  if (!secret) return undefined;
  let token = tokens.get(topic);
  if (!token) tokens.set(topic, (token = jwt.sign({ id: `bench-${topic}`, channel: topicName(topic) }, secret, { expiresIn: "1h" })));
  return token;
}

function openClient(url: string, topic: number): Promise<Client> {
  return target === "socketio" ? socketIoClient(url, topic) : phoenixClient(url, topic, tokenFor(topic));
}

async function connect(command: Extract<Command, { type: "connect" }>): Promise<void> {
  ({ target, urls, topics, topicPrefix, redisUrl, secret } = command);
  const started = now();
  const pending: Array<Promise<Client>> = [];
  let failed = 0;
  // Open in waves so the join rate measures the server, not a SYN flood on one core.
  const wave = 200;
  for (let i = 0; i < command.clients; i += wave) {
    const batch: Array<Promise<Client>> = [];
    for (let j = i; j < Math.min(command.clients, i + wave); j++) {
      const url = urls[j % urls.length]!;
      const topic = j % topics;
      batch.push(openClient(url, topic));
    }
    const settled = await Promise.allSettled(batch);
    for (const result of settled) {
      if (result.status === "fulfilled") pending.push(Promise.resolve(result.value));
      else failed++;
    }
  }
  clients = await Promise.all(pending);
  const ms = now() - started;
  if (target === "switchboard") {
    handlerPublisher = new WebSocket(`${urls[0]}/socket/websocket?vsn=2.0.0`);
    await new Promise((resolve) => handlerPublisher!.once("open", resolve));
  }
  send({ type: "joined", ms, clients: clients.length, failed, joinsPerSecond: (clients.length / ms) * 1000 });
}

async function publish(command: Extract<Command, { type: "publish" }>): Promise<void> {
  messages = command.messages;
  for (const client of clients) client.received = new Uint8Array(messages);
  const perTopic = new Array<number>(topics).fill(0);
  for (const client of clients) perTopic[client.topic]!++;
  let expected = 0;
  for (let id = 0; id < messages; id++) expected += perTopic[id % topics]!;
  latencies = new Float64Array(Math.min(expected, 5_000_000));
  latencyCount = 0;
  wrongTopic = 0;

  const redis = new Redis(redisUrl);
  const emitter = target === "socketio" ? new Emitter(redis) : undefined;
  const padding = "x".repeat(Math.max(0, command.payloadBytes - 40));
  if (command.path === "handler" && handlerPublisher) {
    // The publisher joins every topic through the example rooms channel and pushes new_msg.
    for (let topic = 0; topic < topics; topic++) handlerPublisher.send(JSON.stringify([`p${topic}`, `p${topic}`, topicName(topic), "phx_join", {}]));
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const publishOne = (id: number) => {
    const topic = id % topics;
    const payload = `{"id":${id},"t":${now()},"p":"${padding}"}`;
    if (emitter) emitter.to(topicName(topic)).emit("bench", JSON.parse(payload));
    else if (command.path === "handler" && handlerPublisher) handlerPublisher.send(`["p${topic}","m${id}","${topicName(topic)}","new_msg",${payload}]`);
    else void redis.publish(`to:${topicName(topic)}:bench`, payload);
  };

  firstPublishAt = now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(messages, Math.ceil(((now() - firstPublishAt) / 1000) * command.rate));
      while (sent < due) publishOne(sent++);
      if (sent >= messages) resolve();
      else setTimeout(tick, 5);
    };
    tick();
  });
  const publishSeconds = (now() - firstPublishAt) / 1000;
  send({ type: "published" });

  // Wait until everything arrived or nothing moved for settleMs.
  for (;;) {
    const before = latencyCount;
    await new Promise((resolve) => setTimeout(resolve, command.settleMs));
    if (latencyCount === before) break;
  }
  await redis.quit();

  let delivered = 0;
  let duplicates = 0;
  for (const client of clients) {
    for (let id = 0; id < messages; id++) {
      const count = client.received[id]!;
      if (id % topics !== client.topic) continue;
      if (count > 0) delivered++;
      if (count > 1) duplicates += count - 1;
    }
  }
  const sorted = latencies.subarray(0, latencyCount).sort();
  const deliverySeconds = (lastDeliveryAt - firstPublishAt) / 1000;
  const result: PublishResult = {
    expected,
    delivered,
    lost: expected - delivered,
    duplicates,
    wrongTopic,
    publishSeconds,
    deliverySeconds,
    deliveriesPerSecond: delivered / Math.max(deliverySeconds, 1e-3),
    latencyMs: {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      p999: percentile(sorted, 99.9),
      max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    },
  };
  send({ type: "result", result });
}

/**
 * The clients of the killed node reconnect to a survivor all at once, as browsers do when their
 * node dies (the stock client retries after ~10 ms); joins/s is counted from the first close seen.
 */
async function storm(command: Extract<Command, { type: "storm" }>): Promise<void> {
  const orphans: number[] = [];
  let firstClose = 0;
  const allClosed = new Promise<void>((resolve) => {
    clients.forEach((client, index) =>
      client.closed.then(() => {
        firstClose ||= now();
        orphans.push(index);
        if (orphans.length === command.expected) resolve();
      }),
    );
  });
  await Promise.race([allClosed, new Promise((resolve) => setTimeout(resolve, command.timeoutMs))]);
  if (orphans.length === 0) throw new Error("join storm: no client saw its node go");
  const rejoined = await Promise.allSettled(orphans.map((index) => openClient(urls[0]!, clients[index]!.topic)));
  rejoined.forEach((result, i) => {
    if (result.status === "fulfilled") clients[orphans[i]!] = result.value;
  });
  const ok = rejoined.filter((result) => result.status === "fulfilled").length;
  const ms = now() - firstClose;
  send({ type: "joined", ms, clients: ok, failed: rejoined.length - ok, joinsPerSecond: (ok / ms) * 1000 });
}

process.on("message", (command: Command) => {
  const run = command.type === "connect" ? connect(command) : command.type === "storm" ? storm(command) : publish(command);
  run.catch((error: unknown) => {
    send({ type: "error", message: error instanceof Error ? error.stack : String(error) });
  });
});
process.on("disconnect", () => {
  for (const client of clients) client.close();
  process.exit(0);
});
