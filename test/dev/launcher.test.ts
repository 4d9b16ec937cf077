import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { portsFree } from "../../tools/dev/net.ts";
import { UPSTREAM_HEADER } from "../../tools/dev/proxy.ts";
import { alive, commandLine, descendants } from "./process-tree.ts";

/**
 * `turbo run dev` as a developer runs it: a private Redis, three gateways, the bridge and the
 * round-robin proxy come up; clients on different nodes talk to each other through the proxy;
 * Ctrl-C (SIGINT to the whole foreground process group) leaves no process behind.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const GATEWAY_ENTRY = `${ROOT}/apps/gateway/src/main.ts`;
const GATEWAYS = 3;
/** Proxy, gateways, bridge health server: consecutive ports from PORT. */
const PORTS_USED = 1 + GATEWAYS + 1;
/** Below the kernel's ephemeral range, where outgoing connections would collide with them. */
const PORT_RANGE = { from: 20_000, to: 30_000 } as const;
/** tsx compiles every workspace lib in four processes at once; a loaded 2-core CI machine is slow at it. */
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 30_000;
const STEP_TIMEOUT_MS = 10_000;

interface Launched {
  child: ChildProcess;
  open: string;
  gateways: string[];
  bridge: string;
  output: string[];
  tree: number[];
  /** Command line of each process in `tree` when it was recorded. */
  commands: Map<number, string | undefined>;
}

let launched: Launched | undefined;

after(() => {
  // Only if an assertion failed midway: never leave the recorded tree running. A pid whose command
  // line changed belongs to another process by now and is left alone.
  if (!launched) return;
  for (const pid of launched.tree) {
    if (alive(pid) && commandLine(pid) === launched.commands.get(pid)) process.kill(pid, "SIGKILL");
  }
  if (launched.child.exitCode === null && launched.child.signalCode === null) launched.child.kill("SIGKILL");
});

async function pickFirstPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from));
    if (await portsFree(first, PORTS_USED)) return first;
  }
  throw new Error("no free run of ports for the dev launcher");
}

async function launch(firstPort: number): Promise<Launched> {
  const turbo = createRequire(import.meta.url).resolve("turbo/bin/turbo");
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(firstPort), TURBO_TELEMETRY_DISABLED: "1", LOG_LEVEL: "warn" };
  delete env.REDIS_URL;
  // Its own process group, like a terminal's foreground job: Ctrl-C is a SIGINT to the group.
  const child = spawn(process.execPath, [turbo, "run", "dev", "--filter=@switchboard/tools", "--ui=stream"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const output: string[] = [];
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) => output.push(line));
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within ${READY_TIMEOUT_MS} ms:\n${output.join("\n")}`)), READY_TIMEOUT_MS);
    lines.on("line", (line) => {
      output.push(line);
      const match = /ready open=(\S+) gateways=(\S+) bridge=(\S+) redis=(\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`turbo exited (${code}) before ready:\n${output.join("\n")}`));
    });
  });
  const [, open = "", gateways = "", bridge = ""] = ready;
  const tree = descendants(child.pid ?? 0);
  const commands = new Map(tree.map((pid) => [pid, commandLine(pid)]));
  return { child, open, gateways: gateways.split(","), bridge, output, tree, commands };
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown>; upstream: string | null }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, upstream: response.headers.get(UPSTREAM_HEADER) };
}

/** A Phoenix V2 JSON WebSocket client that keeps every frame it receives. */
async function connect(open: string): Promise<{ socket: WebSocket; next(match: (frame: unknown[]) => boolean): Promise<unknown[]> }> {
  const socket = new WebSocket(`${open.replace("http", "ws")}/socket/websocket?vsn=2.0.0`);
  const frames: unknown[][] = [];
  const waiters = new Set<() => void>();
  socket.on("message", (data: Buffer) => {
    frames.push(JSON.parse(data.toString()) as unknown[]);
    for (const wake of waiters) wake();
  });
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  const next = (match: (frame: unknown[]) => boolean) =>
    new Promise<unknown[]>((resolve, reject) => {
      const check = () => {
        const index = frames.findIndex(match);
        if (index < 0) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(frames.splice(index, 1)[0] as unknown[]);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching frame within ${STEP_TIMEOUT_MS} ms; got ${JSON.stringify(frames)}`));
      }, STEP_TIMEOUT_MS);
      waiters.add(check);
      check();
    });
  return { socket, next };
}

const replyTo = (ref: string) => (frame: unknown[]) => frame[1] === ref && frame[3] === "phx_reply";

const skipReason = existsSync(GATEWAY_ENTRY) ? false : "apps/gateway/src/main.ts does not exist yet";

describe("turbo run dev", { skip: skipReason, timeout: READY_TIMEOUT_MS + 60_000 }, () => {
  let firstPort = 0;
  let stack: Launched;
  before(async () => {
    firstPort = await pickFirstPort();
    launched = await launch(firstPort);
    stack = launched;
  });

  test("a private Redis, 3 gateways and the bridge answer; the proxy rotates over every node", async () => {
    const { open, gateways, bridge, tree } = stack;
    assert.equal(open, `http://127.0.0.1:${firstPort}`);
    assert.equal(gateways.length, GATEWAYS);
    assert.ok(tree.some((pid) => commandLine(pid)?.includes("redis-server")), "a private redis-server runs below turbo");

    const direct = await Promise.all(gateways.map((url) => getJson(`${url}/healthz`)));
    assert.deepEqual(direct.map((answer) => answer.body.node), ["gateway-1", "gateway-2", "gateway-3"]);
    assert.equal((await getJson(bridge)).status, 200);

    const rotated: string[] = [];
    for (let request = 0; request < 2 * GATEWAYS; request++) rotated.push(String((await getJson(`${open}/healthz`)).body.node));
    assert.deepEqual(new Set(rotated), new Set(["gateway-1", "gateway-2", "gateway-3"]));
    for (let index = 1; index < rotated.length; index++) assert.notEqual(rotated[index], rotated[index - 1]);
  });

  test("gateways and bridge run with the image's V8 launch flag (Dockerfile NODE_OPTIONS)", () => {
    const apps = stack.tree.filter((pid) => /apps\/(gateway|bridge)\/src\/main\.ts/.test(commandLine(pid) ?? ""));
    assert.ok(apps.length >= GATEWAYS + 1, "every gateway and the bridge found in the process tree");
    for (const pid of apps) {
      const nodeOptions = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").find((entry) => entry.startsWith("NODE_OPTIONS="));
      assert.match(nodeOptions ?? "", /--max-semi-space-size=4\b/, `${commandLine(pid)}`);
    }
  });

  test("two WebSockets through the proxy land on different nodes and still share a topic", async () => {
    const alice = await connect(stack.open);
    const bob = await connect(stack.open);
    try {
      alice.socket.send(JSON.stringify(["1", "1", "rooms:dev", "phx_join", { user: "alice" }]));
      bob.socket.send(JSON.stringify(["1", "1", "rooms:dev", "phx_join", { user: "bob" }]));
      assert.deepEqual((await alice.next(replyTo("1")))[4], { status: "ok", response: { joined: "rooms:dev" } });
      assert.deepEqual((await bob.next(replyTo("1")))[4], { status: "ok", response: { joined: "rooms:dev" } });
      alice.socket.send(JSON.stringify(["1", "2", "rooms:dev", "new_msg", { body: "across nodes" }]));
      assert.deepEqual((await bob.next((frame) => frame[3] === "new_msg"))[4], { body: "across nodes" });
    } finally {
      alice.socket.close();
      bob.socket.close();
    }
  });

  test("a LongPoll session works while each of its requests goes to another node", async () => {
    const longpoll = `${stack.open}/socket/longpoll?vsn=2.0.0`;
    const opened = await getJson(longpoll);
    assert.equal(opened.body.status, 410);
    const token = encodeURIComponent(String(opened.body.token));
    const posted = await fetch(`${longpoll}&token=${token}`, {
      method: "POST",
      body: JSON.stringify(["3", "3", "rooms:dev", "phx_join", { user: "carol" }]),
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    });
    assert.deepEqual(await posted.json(), { status: 200 }, "the join POST reached the session on its owner");
    const polled = await getJson(`${longpoll}&token=${token}`);
    assert.notEqual(polled.upstream, opened.upstream, "the poll was served by another node than the one that opened the session");
    const messages = ((polled.body.messages ?? []) as string[]).map((text) => JSON.parse(text) as unknown[]);
    assert.ok(messages.some(replyTo("3")), `join reply in ${JSON.stringify(polled.body)}`);
  });

  test("Ctrl-C stops the whole tree: no process left, every port released", async () => {
    const { child, tree } = stack;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    process.kill(-(child.pid ?? 0), "SIGINT");
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(() => resolve("timeout"), STOP_TIMEOUT_MS)))]);
    clearTimeout(timer);
    assert.notEqual(code, "timeout", `turbo still running ${STOP_TIMEOUT_MS} ms after SIGINT`);

    const deadline = Date.now() + STEP_TIMEOUT_MS;
    let left = tree.filter(alive);
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = tree.filter(alive);
    }
    assert.deepEqual(left.map((pid) => `${pid} ${commandLine(pid)}`), [], "no process of the dev tree outlives Ctrl-C");
    assert.ok(await portsFree(firstPort, PORTS_USED), "every port is released");
    assert.ok(tree.length >= 1 + 1 + GATEWAYS + 1, `the recorded tree held launcher, redis, gateways and bridge (${tree.length} processes)`);
  });
});
