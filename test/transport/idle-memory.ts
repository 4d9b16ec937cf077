/**
 * Memory per idle connection on the server side: N WebSocket connections, then N LongPoll sessions
 * each with a poll waiting, opened by a child process so only the server's memory is measured.
 * Not part of `npm test`; run: node --expose-gc --import tsx test/transport/idle-memory.ts [N]
 */
import { spawn } from "node:child_process";
import { startHarness } from "./harness.ts";

const count = Number(process.argv[2] ?? 2_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");

const CLIENT = `
import WebSocket from "ws";
const [url, kind, count] = process.argv.slice(1);
const held = [];
if (kind === "websocket") {
  for (let i = 0; i < Number(count); i++) {
    const ws = new WebSocket(url + "/socket/websocket?vsn=2.0.0");
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    held.push(ws);
  }
} else {
  for (let i = 0; i < Number(count); i++) {
    const { token } = await (await fetch(url + "/socket/longpoll?vsn=2.0.0")).json();
    held.push(fetch(url + "/socket/longpoll?vsn=2.0.0&token=" + encodeURIComponent(token)).catch(() => undefined));
  }
}
process.stdout.write("ready\\n");
setInterval(() => {}, 60_000);
`;

function settle(): Promise<{ rss: number; heap: number }> {
  return new Promise((resolve) =>
    setTimeout(() => {
      gc!();
      gc!();
      const usage = process.memoryUsage();
      resolve({ rss: usage.rss, heap: usage.heapUsed + usage.external + usage.arrayBuffers });
    }, 500),
  );
}

async function measure(kind: "websocket" | "longpoll"): Promise<void> {
  const harness = await startHarness({ longPoll: { windowMs: 600_000, sessionTimeoutMs: 600_000 }, idleTimeoutMs: 600_000 });
  const baseline = await settle();
  const child = spawn(process.execPath, ["--input-type=module", "-e", CLIENT, harness.url, kind, String(count)], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve) => child.stdout.on("data", (data: Buffer) => data.toString().includes("ready") && resolve()));
  const loaded = await settle();
  const open = harness.transport.connectionCount()[kind];
  console.log(
    `${kind}: ${open} idle connections, per connection: ${((loaded.rss - baseline.rss) / open / 1024).toFixed(1)} KiB RSS, ${((loaded.heap - baseline.heap) / open / 1024).toFixed(1)} KiB heap+external`,
  );
  child.kill();
  await harness.stop();
}

await measure("websocket");
await measure("longpoll");
process.exit(0);
