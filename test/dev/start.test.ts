import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";
import { portsFree } from "../../tools/dev/net.ts";
import { alive, commandLine, descendants } from "./process-tree.ts";

/** `npm start`: one gateway and the bridge, a private Redis, signals forwarded, no orphans. */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** Gateway and the bridge's health server. */
const PORTS_USED = 2;
const PORT_RANGE = { from: 30_000, to: 32_000 } as const;
const READY_TIMEOUT_MS = 90_000;
const EXIT_TIMEOUT_MS = 20_000;

const started: ChildProcess[] = [];
after(() => {
  // Only for a run an assertion left behind; an exited child's pid may belong to someone else by now.
  for (const child of started.filter((candidate) => candidate.exitCode === null && candidate.signalCode === null)) {
    for (const pid of descendants(child.pid ?? 0)) process.kill(pid, "SIGKILL");
    child.kill("SIGKILL");
  }
});

async function pickFirstPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from));
    if (await portsFree(first, PORTS_USED)) return first;
  }
  throw new Error("no free pair of ports for npm start");
}

function runStart(env: NodeJS.ProcessEnv): { child: ChildProcess; output: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["scripts/start.mjs"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream as NodeJS.ReadableStream }).on("line", (line) => output.push(line));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, output, exited };
}

async function untilReady(run: ReturnType<typeof runStart>): Promise<RegExpExecArray> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const match = run.output.map((line) => /^ready open=(\S+) gateways=\S+ bridge=(\S+)/.exec(line)).find(Boolean);
    if (match) return match;
    assert.equal(run.child.exitCode, null, `npm start exited before ready:\n${run.output.join("\n")}`);
    assert.ok(Date.now() < deadline, `not ready within ${READY_TIMEOUT_MS} ms:\n${run.output.join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function exitCode(run: ReturnType<typeof runStart>): Promise<number | null | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([run.exited, new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), EXIT_TIMEOUT_MS)))]);
  clearTimeout(timer);
  return code;
}

async function assertGone(tree: number[]): Promise<void> {
  const deadline = Date.now() + EXIT_TIMEOUT_MS;
  let left = tree.filter(alive);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = tree.filter(alive);
  }
  assert.deepEqual(left.map((pid) => `${pid} ${commandLine(pid)}`), [], "no child outlives npm start");
}

function startEnv(port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), LOG_LEVEL: "warn" };
  delete env.REDIS_URL;
  delete env.HOST;
  return env;
}

const skip = existsSync(`${ROOT}/apps/gateway/src/main.ts`) ? false : "apps/gateway/src/main.ts does not exist yet";

describe("npm start", { skip, timeout: 2 * (READY_TIMEOUT_MS + EXIT_TIMEOUT_MS) }, () => {
  test("one gateway on PORT and the bridge after it; SIGTERM stops both and the private Redis", async () => {
    const port = await pickFirstPort();
    const run = runStart(startEnv(port));
    const [, open, bridge] = await untilReady(run);
    assert.equal(open, `http://127.0.0.1:${port}`);
    const health = (await (await fetch(`${open}/healthz`)).json()) as { status: string; node: string };
    assert.deepEqual(health, { status: "ok", node: "gateway-1" });
    assert.equal((await fetch(bridge ?? "")).status, 200);
    const tree = descendants(run.child.pid ?? 0);
    assert.ok(tree.some((pid) => commandLine(pid)?.includes("redis-server")), "a private redis-server runs");

    run.child.kill("SIGTERM");
    assert.equal(await exitCode(run), 0);
    await assertGone(tree);
    assert.ok(await portsFree(port, PORTS_USED));
  });

  test("when the gateway dies, npm start stops the rest and exits 1", async () => {
    const port = await pickFirstPort();
    const run = runStart(startEnv(port));
    await untilReady(run);
    const tree = descendants(run.child.pid ?? 0);
    const gateway = tree.find((pid) => commandLine(pid)?.includes("apps/gateway/src/main.ts"));
    assert.ok(gateway, "the gateway process is below npm start");
    process.kill(gateway, "SIGKILL");

    assert.equal(await exitCode(run), 1);
    assert.ok(run.output.some((line) => /gateway-1 exited .*stopping everything/.test(line)), run.output.join("\n"));
    await assertGone(tree);
  });

  test("without redis-server and REDIS_URL it says what to install", async () => {
    const run = runStart({ ...startEnv(await pickFirstPort()), PATH: "/nonexistent" });
    assert.equal(await exitCode(run), 1);
    const said = run.output.join("\n");
    assert.match(said, /redis-server is not installed/);
    assert.match(said, /apt-get install redis-server/);
    assert.match(said, /REDIS_URL/);
  });
});
