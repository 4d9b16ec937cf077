import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { createTokenVerifier } from "@switchboard/auth";
import { startGateway, TEST_SECRET, type GatewayProcess } from "../support/gateway.ts";
import { freePort } from "../support/ports.ts";
import { RawClient } from "../support/raw-client.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const TIMEOUT_MS = 5_000;
const ADMIN_SECRET = "gateway-auth-admin-secret";
const EVIL_ORIGIN = "https://evil.example.com";

const TANGRAM_SECRET = "tangram-toml-secret-0123456789abcdef";

let redis: RedisProcess;
const gateways: GatewayProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), "switchboard-auth-"));
let badConfig: { code: number | null; output: string };
let tangram: GatewayProcess;
let tangramPort: number;
let open: GatewayProcess;
let guarded: GatewayProcess;
let off: GatewayProcess;

// Processes start two at a time: startup is CPU-bound (compiling TypeScript) and CI has two cores;
// more at once only pushes each past its health deadline.
before(async () => {
  redis = await startRedis();
  tangramPort = await freePort();
  [badConfig, tangram] = await Promise.all([
    runWithBadConfig(),
    gateway({ SWITCHBOARD_CONFIG: writeTangramToml(tangramPort), PORT: "", JWT_SECRET: "" }, tangramPort),
  ]);
  [open, guarded] = await Promise.all([gateway({}), gateway({ TOKEN_ENDPOINT: "protected", ADMIN_SECRET })]);
  off = await gateway({ TOKEN_ENDPOINT: "off" });
});

after(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop("SIGKILL")));
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function gateway(env: Record<string, string>, port?: number): Promise<GatewayProcess> {
  const started = await startGateway({ redisUrl: redis.url, env, port });
  gateways.push(started);
  return started;
}

/** A tangram.toml as tangram's users have it; empty env values count as unset, so the file decides port and secret. */
function writeTangramToml(port: number): string {
  const file = join(dir, "tangram.toml");
  writeFileSync(
    file,
    `[core]\nredis_url = "${redis.url}"\nplugins = ["tangram_system"]\n\n[server]\nport = 2346\n\n` +
      `[channel]\nhost = "127.0.0.1"\nport = ${port}\njwt_secret = "${TANGRAM_SECRET}"\njwt_expiration_secs = 3600\n`,
  );
  return file;
}

async function runWithBadConfig(): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "apps/gateway/src/main.ts"], {
    cwd: root,
    env: { ...process.env, PORT: "abc", TOKEN_ENDPOINT: "protected", JWT_ALGORITHMS: "none", REDIS_URL: redis.url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearTimeout(timer);
  return { code, output };
}

function postToken(gateway: GatewayProcess, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gateway.url}/token`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
}

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

describe("configuration of a real gateway process", () => {
  test("bad config: exit code 2 and one line per problem, naming the variable, no stack trace", () => {
    const { code, output } = badConfig;
    assert.equal(code, 2, output);
    assert.match(output, /^config error: env PORT: expected a whole number, got "abc"$/m);
    assert.match(output, /^config error: env JWT_ALGORITHMS: item 1: "none" is refused/m);
    assert.doesNotMatch(output, /^\s+at /m, "no stack trace");
  });

  test("a tangram.toml with [channel] just works: its port, and tokens signed with its jwt_secret", async () => {
    assert.equal(tangram.port, tangramPort);
    // tangram's frontend asks for its first token without an id and keeps the one it gets back.
    const response = await postToken(tangram, { channel: "system" });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { id: string; channel: string; token: string };
    const verified = createTokenVerifier({ secret: TANGRAM_SECRET, algorithms: ["HS256"] }).verifyForTopic(body.token, "system");
    assert.ok(verified.ok, "signed with the file's jwt_secret");
    assert.equal(verified.claims.id, body.id);
    assert.equal(verified.claims.exp - (verified.claims.iat ?? 0), 3600, "jwt_expiration_secs is the lifetime");
    assert.equal(createTokenVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }).verify(body.token).ok, false);
  });
});

describe("POST /token on a real gateway", () => {
  test("open: tangram's request and answer; admin claims need the secret", async () => {
    const response = await postToken(open, { channel: "rooms:lobby", id: "alice" });
    assert.equal(response.status, 200);
    const { token } = (await response.json()) as { token: string };
    assert.ok(createTokenVerifier({ secret: TEST_SECRET, algorithms: ["HS256"] }).verifyForTopic(token, "rooms:lobby").ok);
    const admin = await postToken(open, { channel: "admin" });
    assert.equal(admin.status, 403);
    assert.equal(await errorCode(admin), "admin_requires_secret");
  });

  test("protected: 401 without the bearer secret, 200 with it", async () => {
    const refused = await postToken(guarded, { channel: "system" });
    assert.equal(refused.status, 401);
    assert.equal(await errorCode(refused), "unauthorized");
    const accepted = await postToken(guarded, { channel: "admin", id: "ops" }, { authorization: `Bearer ${ADMIN_SECRET}` });
    assert.equal(accepted.status, 200);
  });

  test("off: 404", async () => {
    const response = await postToken(off, { channel: "system" });
    assert.equal(response.status, 404);
    assert.equal(await errorCode(response), "not_found");
  });

  test("bad requests get a JSON error", async () => {
    const response = await fetch(`${open.url}/token`, { method: "POST", body: "{nope", signal: AbortSignal.timeout(TIMEOUT_MS) });
    assert.equal(response.status, 400);
    assert.equal(await errorCode(response), "invalid_json");
  });

  test("CORS follows the default allowed origins (public URL, localhost and 127.0.0.1 on the port)", async () => {
    const ownOrigin = `http://localhost:${open.port}`;
    const preflight = await fetch(`${open.url}/token`, {
      method: "OPTIONS",
      headers: { origin: ownOrigin, "access-control-request-method": "POST" },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), ownOrigin);
    const evil = await postToken(open, { channel: "system" }, { origin: EVIL_ORIGIN });
    assert.equal(evil.status, 403);
    assert.equal(evil.headers.get("access-control-allow-origin"), null);
  });

  test("a WebSocket from a disallowed Origin is refused with 403; an allowed one connects", async () => {
    const url = `${open.wsUrl}/socket/websocket?vsn=2.0.0`;
    await assert.rejects(RawClient.connect(url, { origin: EVIL_ORIGIN }), (error: Error & { status?: number }) => error.status === 403);
    const client = await RawClient.connect(url, { origin: `http://127.0.0.1:${open.port}` });
    client.close();
  });

  test("LongPoll from a disallowed Origin is refused with 403; an allowed one gets a session", async () => {
    const url = `${open.url}/socket/longpoll?vsn=2.0.0`;
    const refused = await fetch(url, { headers: { origin: EVIL_ORIGIN }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    assert.equal(refused.status, 403);
    const accepted = await fetch(url, { headers: { origin: `http://localhost:${open.port}` }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    assert.equal(accepted.status, 200);
    const body = (await accepted.json()) as { status: number; token?: string };
    assert.equal(body.status, 410, "a new session starts with 410 and its token");
    assert.ok(body.token);
  });
});
