/**
 * Load generator, run as a forked child of the bench runner so its CPU never counts as the
 * server's. It opens C clients spread over the target's nodes, then joins T topics through the
 * real join path over the open sockets (so join throughput is measured apart from connection
 * setup, every join answered or counted lost), publishes M messages at a target rate through the
 * real backend path, and accounts for every (client, message) pair: loss, duplicates, wrong
 * topic, latency.
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
  | {
      type: "connect";
      target: Target;
      urls: string[];
      clients: number;
      topics: number;
      /** Topics each client joins; client i joins topics i·n … i·n+n-1 (mod topics), deliveries are counted on the first. */
      joinsPerClient: number;
      topicPrefix: string;
      secret?: string;
      redisUrl: string;
    }
  /** Join every client's topics over its open socket, one node after the other. */
  | { type: "join"; timeoutMs: number }
  /**
   * Delivery is over once every expected (client, message) pair arrived and `graceMs` more passed
   * without (late duplicates still count), or when nothing arrived for `settleMs`.
   */
  | {
      type: "publish";
      /** Ids of this publish start here: a warm-up's ids come before the measured run's, so a straggler from it is told apart. */
      firstId: number;
      messages: number;
      rate: number;
      payloadBytes: number;
      path: PublishPath;
      settleMs: number;
      graceMs: number;
    }
  /** Join storm: once the clients of a killed node see their socket close, all rejoin through the first node at once. */
  | { type: "storm"; expected: number; timeoutMs: number };

export interface PublishResult {
  expected: number;
  delivered: number;
  lost: number;
  duplicates: number;
  wrongTopic: number;
  /** Deliveries of an earlier publish (a warm-up) that arrived during this one: 0 unless one was delivered late or twice. */
  stale: number;
  publishSeconds: number;
  deliverySeconds: number;
  deliveriesPerSecond: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number };
}

export interface NodeJoins {
  /** Joins sent to this node; each is answered ok, refused, or lost (no answer before the timeout). */
  sent: number;
  ok: number;
  refused: number;
  lost: number;
  /** From the first join sent to the last answer received. */
  ms: number;
  joinsPerSecond: number;
}

/** Answers so far to a client's joins; read after the node's timeout, so unanswered joins count as lost. */
interface JoinOutcome {
  ok: number;
  refused: number;
  /** Settles once every join is answered or the socket closed. */
  done: Promise<void>;
}

interface Client {
  /** The topic deliveries are accounted on (the client's first join). */
  topic: number;
  topics: number[];
  received: Uint8Array;
  closed: Promise<void>;
  /** Sends every join of the client at once. */
  join(): JoinOutcome;
  close(): void;
}

const now = () => performance.timeOrigin + performance.now();
const send = (message: unknown) => process.send?.(message);
const SETTLE_POLL_MS = 50;
/** Sockets opened at once while connecting: more is a SYN flood on one core, not a measure of the server. */
const CONNECT_WAVE = 200;

/** clients[i] is connected to urls[i % urls.length]. */
let clients: Client[] = [];
let topics = 0;
let joinsPerClient = 1;
let topicPrefix = "";
let messages = 0;
/** The first id of the current publish. */
let firstId = 0;
let latencies = new Float64Array(0);
let latencyCount = 0;
/** Every delivery received, and the (client, message) pairs received at least once. */
let arrivals = 0;
let firstArrivals = 0;
let firstPublishAt = 0;
let lastDeliveryAt = 0;
let wrongTopic = 0;
let stale = 0;
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
  const index = payload.id - firstId;
  if (index < 0) {
    stale++;
    return;
  }
  arrivals++;
  if (client.received[index] === 0) firstArrivals++;
  if (client.received[index]! < 255) client.received[index]!++;
  if (latencyCount < latencies.length) latencies[latencyCount++] = at - payload.t;
  lastDeliveryAt = at;
}

function topicName(index: number): string {
  return `${topicPrefix}${index}`;
}

function topicsOf(index: number): number[] {
  return Array.from({ length: joinsPerClient }, (_, j) => (index * joinsPerClient + j) % topics);
}

/**
 * A lean Phoenix V2 client on `ws`. Joins carry join_ref = ref = the topic's position in the
 * client's list, so a reply is matched without a lookup; pushes (presence_state, presence_diff)
 * are skipped unparsed.
 */
function phoenixClient(url: string, clientTopics: number[]): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/socket/websocket?vsn=2.0.0`);
    const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
    let answered = new Uint8Array(0);
    let outcome: JoinOutcome | undefined;
    let joinDone: (() => void) | undefined;
    const client: Client = {
      topic: clientTopics[0]!,
      topics: clientTopics,
      received: new Uint8Array(0),
      closed,
      close: () => ws.terminate(),
      join: () => {
        answered = new Uint8Array(clientTopics.length);
        outcome = { ok: 0, refused: 0, done: new Promise((resolve) => (joinDone = resolve)) };
        clientTopics.forEach((topic, position) => {
          const ref = JSON.stringify(String(position + 1));
          const token = tokenFor(topic);
          ws.send(`[${ref},${ref},${JSON.stringify(topicName(topic))},"phx_join",${token ? `{"token":"${token}"}` : "{}"}]`);
        });
        return outcome;
      },
    };
    const heartbeat = setInterval(() => ws.send('[null,"hb","phoenix","heartbeat",{}]'), 25_000);
    ws.on("open", () => resolve(client));
    ws.on("message", (data: Buffer) => {
      const text = data.toString();
      if (text.startsWith("[null,null,")) {
        if (!text.includes('"bench"') && !text.includes('"new_msg"')) return;
        const frame = JSON.parse(text) as [null, null, string, string, { id: number; t: number }];
        record(client, frame[4]);
      } else if (text.includes('"phx_reply"') && !text.startsWith("[null,")) {
        const frame = JSON.parse(text) as [string, string, string, string, { status: string }];
        const position = Number(frame[0]) - 1;
        if (!outcome || frame[0] !== frame[1] || !(position in answered) || answered[position]) return;
        answered[position] = 1;
        if (frame[4].status === "ok") outcome.ok++;
        else outcome.refused++;
        if (outcome.ok + outcome.refused === clientTopics.length) joinDone?.();
      }
    });
    ws.on("error", reject);
    ws.on("close", () => {
      clearInterval(heartbeat);
      joinDone?.();
      reject(new Error("socket closed before it opened"));
    });
  });
}

function socketIoClient(url: string, clientTopics: number[]): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket: IoSocket = ioClient(url, { transports: ["websocket"], forceNew: true, reconnection: false });
    const closed = new Promise<void>((resolve) => socket.once("disconnect", () => resolve()));
    const client: Client = {
      topic: clientTopics[0]!,
      topics: clientTopics,
      received: new Uint8Array(0),
      closed,
      close: () => socket.disconnect(),
      join: () => {
        let joinDone: () => void = () => undefined;
        const outcome: JoinOutcome = { ok: 0, refused: 0, done: new Promise((resolve) => (joinDone = resolve)) };
        socket.once("disconnect", joinDone);
        for (const topic of clientTopics) {
          socket.emit("join", topicName(topic), (status: string) => {
            if (status === "ok") outcome.ok++;
            else outcome.refused++;
            if (outcome.ok + outcome.refused === clientTopics.length) joinDone();
          });
        }
        return outcome;
      },
    };
    socket.on("bench", (payload: { id: number; t: number }) => record(client, payload));
    socket.on("connect", () => resolve(client));
    socket.on("connect_error", reject);
  });
}

const tokens = new Map<number, string>();
let secret: string | undefined;

/** One token per topic, its claim that topic alone: a token cache on the server gains nothing from repeats. */
function tokenFor(topic: number): string | undefined {
  if (!secret) return undefined;
  let token = tokens.get(topic);
  if (!token) tokens.set(topic, (token = jwt.sign({ id: `bench-${topic}`, channel: topicName(topic) }, secret, { expiresIn: "1h" })));
  return token;
}

function openClient(url: string, clientTopics: number[]): Promise<Client> {
  return target === "socketio" ? socketIoClient(url, clientTopics) : phoenixClient(url, clientTopics);
}

async function connect(command: Extract<Command, { type: "connect" }>): Promise<void> {
  ({ target, urls, topics, joinsPerClient, topicPrefix, redisUrl, secret } = command);
  // Signed up front, so that neither connect nor join timing includes the load generator's signing.
  for (let i = 0; i < command.clients; i++) for (const topic of topicsOf(i)) tokenFor(topic);
  const started = now();
  const opened: Client[] = [];
  let failed = 0;
  for (let i = 0; i < command.clients; i += CONNECT_WAVE) {
    const wave: Array<Promise<Client>> = [];
    for (let j = i; j < Math.min(command.clients, i + CONNECT_WAVE); j++) wave.push(openClient(urls[j % urls.length]!, topicsOf(j)));
    for (const result of await Promise.allSettled(wave)) {
      if (result.status === "fulfilled") opened.push(result.value);
      else failed++;
    }
  }
  // A failed connect would shift every later client onto another node: the run is void.
  if (failed > 0) throw new Error(`${failed} of ${command.clients} clients could not connect`);
  clients = opened;
  const ms = now() - started;
  if (target === "switchboard") {
    handlerPublisher = new WebSocket(`${urls[0]}/socket/websocket?vsn=2.0.0`);
    await new Promise((resolve) => handlerPublisher!.once("open", resolve));
  }
  send({ type: "connected", ms, clients: clients.length, connectsPerSecond: (clients.length / ms) * 1000 });
}

/**
 * Every join of the clients of one node is sent at once over the already open sockets (several
 * per socket when joinsPerClient > 1), and the node's rate runs from the first send to the last
 * answer. Nodes take their turn so that each has the load generator's full attention.
 */
async function joinAll(command: Extract<Command, { type: "join" }>): Promise<void> {
  const perNode: NodeJoins[] = [];
  for (let node = 0; node < urls.length; node++) {
    const members = clients.filter((_, index) => index % urls.length === node);
    const sent = members.reduce((sum, client) => sum + client.topics.length, 0);
    const started = now();
    let lastAnswer = started;
    const outcomes = members.map((client) => client.join());
    const answered = Promise.all(outcomes.map((outcome) => outcome.done.then(() => (lastAnswer = now()))));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([answered, new Promise((resolve) => (timer = setTimeout(resolve, command.timeoutMs)))]);
    clearTimeout(timer);
    const ok = outcomes.reduce((sum, outcome) => sum + outcome.ok, 0);
    const refused = outcomes.reduce((sum, outcome) => sum + outcome.refused, 0);
    const ms = lastAnswer - started;
    perNode.push({ sent, ok, refused, lost: sent - ok - refused, ms, joinsPerSecond: (ok / Math.max(ms, 1e-3)) * 1000 });
  }
  send({ type: "joined", perNode });
}

async function publish(command: Extract<Command, { type: "publish" }>): Promise<void> {
  messages = command.messages;
  firstId = command.firstId;
  for (const client of clients) client.received = new Uint8Array(messages);
  const perTopic = new Array<number>(topics).fill(0);
  for (const client of clients) perTopic[client.topic]!++;
  let expected = 0;
  for (let id = firstId; id < firstId + messages; id++) expected += perTopic[id % topics]!;
  latencies = new Float64Array(Math.min(expected, 5_000_000));
  latencyCount = 0;
  arrivals = 0;
  firstArrivals = 0;
  wrongTopic = 0;
  stale = 0;

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
      while (sent < due) publishOne(firstId + sent++);
      if (sent >= messages) resolve();
      else setTimeout(tick, 5);
    };
    tick();
  });
  const publishSeconds = (now() - firstPublishAt) / 1000;
  send({ type: "published" });

  let lastProgress = now();
  let arrivalsSeen = arrivals;
  while (firstArrivals < expected && now() - lastProgress < command.settleMs) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
    if (arrivals !== arrivalsSeen) [arrivalsSeen, lastProgress] = [arrivals, now()];
  }
  if (firstArrivals === expected) await new Promise((resolve) => setTimeout(resolve, command.graceMs));
  await redis.quit();

  let delivered = 0;
  let duplicates = 0;
  for (const client of clients) {
    for (let index = 0; index < messages; index++) {
      const count = client.received[index]!;
      if ((firstId + index) % topics !== client.topic) continue;
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
    stale,
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
  const rejoined = await Promise.allSettled(orphans.map((index) => rejoin(clients[index]!.topics)));
  rejoined.forEach((result, i) => {
    if (result.status === "fulfilled") clients[orphans[i]!] = result.value;
  });
  const ok = rejoined.filter((result) => result.status === "fulfilled").length;
  const ms = now() - firstClose;
  send({ type: "rejoined", ms, clients: ok, failed: rejoined.length - ok, joinsPerSecond: (ok / ms) * 1000 });
}

/** Connect and join at once, as a reconnecting browser does. */
async function rejoin(clientTopics: number[]): Promise<Client> {
  const client = await openClient(urls[0]!, clientTopics);
  const outcome = client.join();
  await outcome.done;
  if (outcome.ok !== clientTopics.length) throw new Error("rejoin refused or unanswered");
  return client;
}

process.on("message", (command: Command) => {
  const run =
    command.type === "connect" ? connect(command) : command.type === "join" ? joinAll(command) : command.type === "storm" ? storm(command) : publish(command);
  run.catch((error: unknown) => {
    send({ type: "error", message: error instanceof Error ? error.stack : String(error) });
  });
});
send({ type: "ready" });
process.on("disconnect", () => {
  for (const client of clients) client.close();
  process.exit(0);
});
