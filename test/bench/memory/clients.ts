/**
 * The memory bench's clients, in their own process so none of their memory counts: `open` opens
 * one raw Phoenix V2 WebSocket per client spread over the nodes, `join` joins client i to topic
 * `<prefix><i mod topics>` (with a join token when a secret is given), as the bench does.
 */
import jwt from "jsonwebtoken";
import WebSocket from "ws";

export type ClientsRequest =
  | { type: "open"; urls: string[]; clients: number }
  | { type: "join"; topicPrefix: string; topics: number; secret?: string; wave: number };
export type ClientsReply = { type: "done"; ok: number; failed: number; ms: number };

/** Opened this many at a time: the nodes' cost is measured, not a SYN flood. */
const OPEN_WAVE = 200;
const JOIN_REF = "1";

const sockets: WebSocket[] = [];

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/socket/websocket?vsn=2.0.0`);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function join(ws: WebSocket, topic: string, token: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer) => {
      const text = data.toString();
      if (!text.startsWith(`["${JOIN_REF}","${JOIN_REF}"`)) return;
      ws.off("message", onMessage);
      const frame = JSON.parse(text) as [string, string, string, string, { status: string; response: unknown }];
      if (frame[4].status === "ok") resolve();
      else reject(new Error(`join refused: ${JSON.stringify(frame[4].response)}`));
    };
    ws.on("message", onMessage);
    ws.send(JSON.stringify([JOIN_REF, JOIN_REF, topic, "phx_join", token ? { token } : {}]));
  });
}

async function inWaves<T>(count: number, size: number, start: (index: number) => Promise<T>): Promise<{ ok: T[]; failed: number }> {
  const ok: T[] = [];
  let failed = 0;
  for (let i = 0; i < count; i += size) {
    const wave = await Promise.allSettled(Array.from({ length: Math.min(size, count - i) }, (_, j) => start(i + j)));
    for (const result of wave) {
      if (result.status === "fulfilled") ok.push(result.value);
      else failed++;
    }
  }
  return { ok, failed };
}

process.on("message", (request: ClientsRequest) => {
  const started = performance.now();
  const run = async (): Promise<{ ok: number; failed: number }> => {
    if (request.type === "open") {
      const { ok, failed } = await inWaves(request.clients, OPEN_WAVE, (index) => open(request.urls[index % request.urls.length]!));
      sockets.push(...ok);
      return { ok: ok.length, failed };
    }
    const { secret, topicPrefix, topics, wave } = request;
    const { ok, failed } = await inWaves(sockets.length, wave, (index) => {
      const topic = `${topicPrefix}${index % topics}`;
      const token = secret ? jwt.sign({ id: `bench-${index % topics}`, channel: topic }, secret, { expiresIn: "1h" }) : undefined;
      return join(sockets[index]!, topic, token);
    });
    return { ok: ok.length, failed };
  };
  void run().then(({ ok, failed }) => process.send?.({ type: "done", ok, failed, ms: performance.now() - started } satisfies ClientsReply));
});
process.on("disconnect", () => {
  for (const ws of sockets) ws.terminate();
  process.exit(0);
});
