import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { httpExchange } from "./http.ts";

/**
 * The server's keep-alive timeout, announced to the agent as `Keep-Alive: timeout=2`: the agent
 * keeps a connection for reuse only under a hint of 2 s or more.
 */
const KEEP_ALIVE_TIMEOUT_MS = 2_000;
/** How long this process may stay busy waiting for the server to close the idle connection. */
const CLOSE_WITHIN_MS = 15_000;

let server: ChildProcess;
let url: string;
let dir: string;
let closesFile: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "switchboard-http-"));
  closesFile = join(dir, "closes");
  // Its own process, as the suites' gateways are, so it closes connections while this one is busy;
  // each close is written to a file, which this process can read without yielding.
  const source = `const { appendFileSync, writeFileSync } = require("node:fs");
writeFileSync(${JSON.stringify(closesFile)}, "");
const server = require("node:http").createServer((req, res) => res.end("answered"));
server.keepAliveTimeout = ${KEEP_ALIVE_TIMEOUT_MS};
server.on("connection", (socket) => socket.on("close", () => appendFileSync(${JSON.stringify(closesFile)}, "x")));
server.listen(0, "127.0.0.1", () => console.log(server.address().port));`;
  server = spawn(process.execPath, ["-e", source], { stdio: ["ignore", "pipe", "inherit"] });
  const [port] = (await once(server.stdout!, "data")) as [Buffer];
  url = `http://127.0.0.1:${port.toString().trim()}/`;
});
after(() => {
  server.kill();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Leaves an idle keep-alive connection in the agent's pool, then keeps this process busy until
 * the server has closed it: the close is unread here when the next request picks the connection.
 */
async function idleConnectionClosedMeanwhile(): Promise<void> {
  const closes = () => readFileSync(closesFile, "utf8").length;
  const before = closes();
  assert.equal((await httpExchange(url)).body, "answered");
  await new Promise((resolve) => setImmediate(resolve));
  const giveUpAt = performance.now() + CLOSE_WITHIN_MS;
  while (closes() === before) assert.ok(performance.now() < giveUpAt, "the server closed the idle connection");
}

test("plain http.request on a connection the server closed while this process was busy: ECONNRESET (the race the helper is for)", async () => {
  await idleConnectionClosedMeanwhile();
  const failure = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const req = request(url, (res) => res.resume().on("end", () => resolve(undefined)));
    req.on("error", resolve);
    req.end();
  });
  assert.equal(failure?.code, "ECONNRESET");
});

test("httpExchange sends such a request again on a new connection", async () => {
  await idleConnectionClosedMeanwhile();
  assert.equal((await httpExchange(url)).body, "answered");
});
