/**
 * The ceiling baseline: a bare `ws` server fed by Redis pub/sub, doing only what any fan-out
 * server must — one PSUBSCRIBE, one encode per message, one write per member, writes to one
 * socket batched (cork) within a tick. It speaks just enough Phoenix V2 for the load generator:
 * phx_join replies and heartbeats.
 */
import { Redis } from "ioredis";
import { WebSocketServer, type WebSocket } from "ws";

const port = Number(process.env.PORT);
const redis = new Redis(process.env.REDIS_URL!);
const members = new Map<string, Set<WebSocket>>();
const corked = new Set<WebSocket>();

function uncorkAll(): void {
  for (const ws of corked) (ws as unknown as { _socket: { uncork(): void } })._socket.uncork();
  corked.clear();
}

function send(ws: WebSocket, frame: string): void {
  if (!corked.has(ws)) {
    if (corked.size === 0) setImmediate(uncorkAll);
    corked.add(ws);
    (ws as unknown as { _socket: { cork(): void } })._socket.cork();
  }
  ws.send(frame);
}

await redis.psubscribe("to:*");
redis.on("pmessage", (_pattern: string, channel: string, data: string) => {
  const split = channel.lastIndexOf(":");
  const topic = channel.slice(3, split);
  const set = members.get(topic);
  if (!set) return;
  const frame = `[null,null,${JSON.stringify(topic)},${JSON.stringify(channel.slice(split + 1))},${data}]`;
  for (const ws of set) send(ws, frame);
});

const server = new WebSocketServer({ port, host: "127.0.0.1" });
server.on("connection", (ws) => {
  const joined = new Set<string>();
  ws.on("message", (data) => {
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      return ws.close(1011);
    }
    if (!Array.isArray(frame) || frame.length !== 5) return ws.close(1011);
    const [joinRef, ref, topic, event] = frame as [string | null, string, string, string];
    if (event === "phx_join") {
      let set = members.get(topic);
      if (!set) members.set(topic, (set = new Set()));
      set.add(ws);
      joined.add(topic);
    }
    send(ws, JSON.stringify([joinRef, ref, topic, "phx_reply", { response: {}, status: "ok" }]));
  });
  ws.on("close", () => {
    for (const topic of joined) members.get(topic)?.delete(ws);
  });
});
server.on("listening", () => process.stdout.write("listening\n"));
