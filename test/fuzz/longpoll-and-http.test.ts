import assert from "node:assert/strict";
import { createConnection } from "node:net";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { serializerForVsn } from "@switchboard/protocol";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";
import { httpExchange, type HttpAnswer } from "../support/http.ts";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { assertNodeSurvived } from "./node-health.ts";

const RUNS = 60;
const REQUEST_TIMEOUT_MS = 3_000;
/** Short poll window so a poll on an idle session answers 204 quickly. */
const WINDOW_MS = 200;
const MAX_BATCH = 10;
const NDJSON = "application/x-ndjson";
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Every status a LongPoll answer documents (libs/transport longpoll-answer.ts). */
const LONGPOLL_STATUSES = [200, 204, 400, 403, 410, 413];

function send(url: string, method: string, headers: Record<string, string>, body?: string | Buffer): Promise<HttpAnswer> {
  return httpExchange(url, { method, headers, timeout: REQUEST_TIMEOUT_MS }, body);
}

const line = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.json({ maxDepth: 2 }),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes).toString("base64")),
  fc.tuple(fc.constantFrom(null, "1", "2"), fc.constantFrom(null, "3", "4"), fc.constantFrom("phoenix", "rooms:lp", "nope"), fc.constantFrom("heartbeat", "phx_join", "phx_leave", "new_msg"), fc.constant({}))
    .map((frame) => JSON.stringify(frame)),
);

describe("fuzz: random LongPoll bodies and random HTTP on a live node", () => {
  let redis: RedisProcess;
  let gateway: GatewayProcess;

  before(async () => {
    redis = await startRedis();
    gateway = await startGateway({
      redisUrl: redis.url,
      // Sessions the random batches left open expire quickly, so their channels must be gone when the suite checks.
      env: { LONGPOLL_WINDOW_MS: String(WINDOW_MS), LONGPOLL_SESSION_TIMEOUT_MS: "1000", LONGPOLL_MAX_BATCH: String(MAX_BATCH), MAX_FRAME_BYTES: "4096" },
    });
  });
  after(async () => {
    await gateway?.stop();
    await redis?.stop();
  });

  const longPollAnswer = (answer: HttpAnswer) => {
    assert.equal(answer.status, 200, `LongPoll answers are HTTP 200, got ${answer.status} ${answer.body}`);
    const parsed = JSON.parse(answer.body) as { status: number; token?: string; messages?: unknown[] };
    assert.ok(LONGPOLL_STATUSES.includes(parsed.status), `undocumented LongPoll status ${parsed.status}`);
    return parsed;
  };

  test("ndjson batches: 400 for a line that is neither a frame nor base64, 413 past the batch, a session closed by a bad frame answers 410", async () => {
    const oracle = serializerForVsn("2.0.0")!;
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: MAX_BATCH + 3 }), fc.boolean(), async (lines, ndjson) => {
        const opened = longPollAnswer(await send(`${gateway.url}/socket/longpoll?vsn=2.0.0`, "GET", {}));
        assert.equal(opened.status, 410);
        const session = `${gateway.url}/socket/longpoll?vsn=2.0.0&token=${encodeURIComponent(opened.token!)}`;
        const body = lines.join("\n");
        const posted = longPollAnswer(await send(session, "POST", { "content-type": ndjson ? NDJSON : "text/plain" }, body));

        const nonEmpty = lines.filter((text) => text.length > 0 && !/^\r?$/.test(text));
        const frames = ndjson ? nonEmpty.flatMap((text) => text.split(/\r?\n/)).filter((text) => text.length > 0) : [body];
        if (ndjson && frames.length > MAX_BATCH) return assert.equal(posted.status, 413);
        const undecodableLine = frames.find((text) => text[0] !== "[" && text[0] !== "{" && !STRICT_BASE64.test(text));
        if (ndjson && undecodableLine !== undefined) return assert.equal(posted.status, 400, `line ${JSON.stringify(undecodableLine)}`);
        assert.equal(posted.status, 200);

        const decoded = frames.map((text) => (ndjson && text[0] !== "[" && text[0] !== "{" ? Buffer.from(text, "base64") : text));
        const malformed = decoded.some((frame) => !oracle.decode(frame).ok);
        // A bad frame ends the session (1011); the next poll of that token is 410. Otherwise the
        // session keeps answering: replies (200) or an empty window (204).
        let poll = longPollAnswer(await send(session, "GET", {}));
        if (malformed && poll.status === 200) poll = longPollAnswer(await send(session, "GET", {}));
        if (malformed) assert.equal(poll.status, 410, `bad frame in ${JSON.stringify(lines)}`);
        else assert.ok(poll.status === 200 || poll.status === 204, `live session answered ${poll.status}`);
      }),
      { numRuns: RUNS },
    );
  });

  test("random methods, paths, headers and bodies never get a 5xx", async () => {
    const path = fc.oneof(
      fc.constantFrom("/token", "/socket/longpoll", "/socket/websocket", "/websocket", "/healthz", "/readyz", "/metrics", "/", "/socket/longpoll?vsn=9", "/token?x=%ff"),
      fc.webPath(),
    );
    const headers = fc.record(
      { "content-type": fc.constantFrom("application/json", NDJSON, "text/plain", "application/x-www-form-urlencoded", ""), origin: fc.constantFrom("http://evil.example", "null", "http://127.0.0.1"), authorization: fc.string({ maxLength: 30 }).map((text) => `Bearer ${text.replace(/[^\x21-\x7e]/g, "")}`) },
      { requiredKeys: [] },
    );
    const body = fc.oneof(fc.constant(undefined), fc.string({ maxLength: 200 }), fc.json({ maxDepth: 3 }), fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"), path, headers, body, async (method, target, given, content) => {
        const answer = await send(`${gateway.url}${target}`, method, Object.fromEntries(Object.entries(given).filter(([, value]) => value !== "")), content);
        assert.ok(answer.status >= 200 && answer.status < 500, `${method} ${target} answered ${answer.status}: ${answer.body}`);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  test("random bytes on a raw TCP connection get 400 or a closed connection", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
        const answer = await new Promise<string>((resolve, reject) => {
          const socket = createConnection({ host: "127.0.0.1", port: gateway.port });
          let text = "";
          const timer = setTimeout(() => {
            socket.destroy();
            resolve("(timeout)");
          }, 500);
          socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
          socket.on("close", () => {
            clearTimeout(timer);
            resolve(text);
          });
          socket.on("error", reject);
          socket.end(Buffer.from(bytes));
        });
        // A partial request line may leave the parser waiting (timeout); never a 5xx.
        assert.doesNotMatch(answer, /^HTTP\/1\.1 5/, answer);
      }),
      { numRuns: RUNS },
    );
  });

  test("the node survived, answers /healthz and holds no channel", async () => {
    await assertNodeSurvived(gateway);
  });
});
