import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startRedis, type RedisProcess } from "../support/redis.ts";
import { eventually, startGateway, type GatewayProcess } from "../support/gateway.ts";
import { RawClient } from "../support/raw-client.ts";

/** Sums the samples of one metric family in Prometheus text, optionally filtered by a label. */
function metric(text: string, name: string, label?: string): number | undefined {
  const rows = text.split("\n").filter((row) => row.startsWith(`${name}{`) || row.startsWith(`${name} `));
  const picked = label ? rows.filter((row) => row.includes(label)) : rows;
  if (picked.length === 0) return undefined;
  return picked.reduce((sum, row) => sum + Number(row.slice(row.lastIndexOf(" ") + 1)), 0);
}

/**
 * /metrics carries every family operators need (issue 8), and the values move with traffic:
 * connections by transport, joins and join errors by reason, channels, deliveries, send queue,
 * slow consumers, Redis latency and reconnects, presence entries, event-loop lag.
 */
describe("/metrics", () => {
  let redis: RedisProcess;
  let gateway: GatewayProcess;
  const clients: RawClient[] = [];
  before(async () => {
    redis = await startRedis();
    gateway = await startGateway({ redisUrl: redis.url, env: { BRIDGE_PATTERNS: "bridge:*" } });
  });
  after(async () => {
    for (const client of clients) client.ws.terminate();
    await gateway?.stop();
    await redis?.stop();
  });
  const scrape = async () => {
    const res = await fetch(`${gateway.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    return res.text();
  };

  test("every family is exposed", async () => {
    const text = await scrape();
    for (const family of [
      "switchboard_connections",
      "switchboard_connections_opened_total",
      "switchboard_channels",
      "switchboard_joins_total",
      "switchboard_join_errors_total",
      "switchboard_deliveries_total",
      "switchboard_send_queue_bytes",
      "switchboard_slow_consumers_total",
      "switchboard_redis_command_seconds",
      "switchboard_redis_reconnects_total",
      "switchboard_redis_up",
      "switchboard_presence_entries",
      "switchboard_joins_queued",
      "switchboard_malformed_frames_total",
      "nodejs_eventloop_lag_seconds",
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${family} `, "m"), `${family} is exposed`);
    }
    assert.equal(metric(text, "switchboard_redis_up"), 1);
  });

  test("values move when traffic flows", async () => {
    const before = await scrape();
    for (const user of ["m1", "m2"]) {
      const client = await RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`);
      clients.push(client);
      client.send(["1", "1", "rooms:metrics", "phx_join", { user }]);
      await client.nextText();
    }
    const [a] = clients as [RawClient];
    a.send(["2", "2", "rooms:secret", "phx_join", { deny: true }]);
    for (let i = 0; i < 5; i++) a.send(["1", `m${i}`, "rooms:metrics", "new_msg", { i }]);
    const garbage = await RawClient.connect(`${gateway.wsUrl}/socket/websocket?vsn=2.0.0`);
    garbage.send("{not json");
    await garbage.next();

    const counted = (text: string, family: string) => (metric(text, family) ?? 0) - (metric(before, family) ?? 0);
    await eventually(async () => counted(await scrape(), "switchboard_joins_total") === 2, "two joins counted");
    // The pushes are handled and broadcast after their frames arrive: on a loaded machine, later than the joins.
    await eventually(async () => counted(await scrape(), "switchboard_deliveries_total") >= 10, "5 broadcasts to 2 members delivered");
    const text = await scrape();
    assert.equal(metric(text, "switchboard_connections", 'transport="websocket"'), 2);
    assert.equal(metric(text, "switchboard_channels"), 2);
    assert.equal(metric(text, "switchboard_join_errors_total", 'reason="unauthorized"'), 1);
    assert.equal(metric(text, "switchboard_malformed_frames_total", 'code="invalid_json"'), 1);
    assert.ok((metric(text, "switchboard_presence_entries") ?? 0) >= 2, "presence entries counted");
    assert.ok((metric(text, "switchboard_redis_command_seconds_count") ?? 0) >= 1, "Redis latency sampled");
  });
});
