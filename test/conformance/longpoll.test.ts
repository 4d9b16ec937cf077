import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { startGateway, type GatewayProcess } from "../support/gateway.ts";
import { normalizeFrame } from "../support/transcript.ts";

/** The LongPoll part of the reference transcript, as raw HTTP. */
describe("reference transcript replay (LongPoll)", () => {
  let redis: RedisProcess;
  let gateway: GatewayProcess;
  before(async () => {
    redis = await startRedis();
    gateway = await startGateway({ redisUrl: redis.url, env: { LONGPOLL_WINDOW_MS: "1000" } });
  });
  after(async () => {
    await gateway?.stop();
    await redis?.stop();
  });

  const endpoint = () => `${gateway.url}/socket/longpoll?vsn=2.0.0`;
  const get = async (token?: string) => {
    const res = await fetch(token ? `${endpoint()}&token=${encodeURIComponent(token)}` : endpoint());
    assert.equal(res.status, 200);
    return (await res.json()) as { status: number; token?: string; messages?: string[] };
  };
  const post = async (token: string, body: string, type = "application/json") => {
    const res = await fetch(`${endpoint()}&token=${encodeURIComponent(token)}`, { method: "POST", body, headers: { "content-type": type } });
    assert.equal(res.status, 200);
    return (await res.json()) as { status: number };
  };
  const pollUntil = async (token: string, count: number) => {
    const messages: string[] = [];
    for (let i = 0; i < 10 && messages.length < count; i++) {
      const answer = await get(token);
      if (answer.status === 200) messages.push(...(answer.messages ?? []));
      else assert.equal(answer.status, 204);
    }
    return messages.map(normalizeFrame);
  };
  const frames = (...texts: string[]) => texts.map(normalizeFrame);

  test("session, join, echo, ndjson batch, leave, 204 and bogus token, as in the transcript", async () => {
    const opened = await get();
    assert.equal(opened.status, 410);
    assert.deepEqual(opened.messages, []);
    assert.equal(typeof opened.token, "string");
    const token = opened.token!;

    assert.deepEqual(await post(token, '["1","1","rooms:lobby","phx_join",{"user":"lp"}]'), { status: 200 });
    assert.deepEqual(
      await pollUntil(token, 3),
      frames(
        '["1","1","rooms:lobby","phx_reply",{"response":{"joined":"rooms:lobby"},"status":"ok"}]',
        '[null,null,"rooms:lobby","presence_diff",{"joins":{"lp":{"metas":[{"online_at":"1","phx_ref":"x"}]}},"leaves":{}}]',
        '["1",null,"rooms:lobby","presence_state",{"lp":{"metas":[{"online_at":"1","phx_ref":"x"}]}}]',
      ),
    );

    assert.deepEqual(await post(token, '["1","2","rooms:lobby","echo",{"lp":true}]'), { status: 200 });
    assert.deepEqual(await pollUntil(token, 1), frames('["1","2","rooms:lobby","phx_reply",{"response":{"lp":true},"status":"ok"}]'));

    const batch = '[null,"3","phoenix","heartbeat",{}]\n["1","4","rooms:lobby","echo",{"batch":2}]';
    assert.deepEqual(await post(token, batch, "application/x-ndjson"), { status: 200 });
    assert.deepEqual(
      await pollUntil(token, 2),
      frames(
        '[null,"3","phoenix","phx_reply",{"response":{},"status":"ok"}]',
        '["1","4","rooms:lobby","phx_reply",{"response":{"batch":2},"status":"ok"}]',
      ),
    );

    assert.deepEqual(await post(token, '["1","5","rooms:lobby","phx_leave",{}]'), { status: 200 });
    assert.deepEqual(
      await pollUntil(token, 2),
      frames('["1","5","rooms:lobby","phx_reply",{"response":{},"status":"ok"}]', '["1","1","rooms:lobby","phx_close",{}]'),
    );

    const idle = await get(token);
    assert.equal(idle.status, 204, "an idle poll ends with 204 after the window");
    assert.equal(idle.token, token);

    const bogus = await get("bogus");
    assert.equal(bogus.status, 410);
    assert.deepEqual(bogus.messages, []);
    assert.notEqual(bogus.token, token);
  });

  test("the exact body bytes of a 410 answer match the reference key order", async () => {
    const res = await fetch(endpoint());
    const text = await res.text();
    assert.match(text, /^\{"messages":\[\],"status":410,"token":"[^"]+"\}$/);
  });
});
