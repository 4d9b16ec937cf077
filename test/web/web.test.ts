import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { startRedis } from "../support/redis.ts";
import type { RedisProcess } from "../support/redis.ts";
import { eventually, startGateway } from "../support/gateway.ts";
import type { GatewayProcess } from "../support/gateway.ts";
import { buildWeb, launchBrowser, WEB_DIST } from "./browser.ts";
import type { Browser } from "./browser.ts";

/**
 * The demo chat and the admin dashboard in headless Chromium against two real gateway nodes
 * sharing one Redis; each page is served by, and connects to, the node it was opened on.
 */
const ADMIN_SECRET = "web-suite-admin-secret-0123456789";
// Long enough for a presence leave to cross nodes; the suite's whole budget is about a minute.
const CROSS_NODE_MS = 5_000;
// The dashboard samples once a second; a burst shows on its chart within a few samples.
const FLOW_VISIBLE_MS = 10_000;
const ROOM = "web-suite";
const WRONG_SECRET_PAGE = "dashboard-wrong-secret";
const TOPIC = `rooms:${ROOM}`;

function partition<T>(items: readonly T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter((item) => !test(item))];
}

async function joinChat(page: Page, gateway: GatewayProcess, name: string): Promise<void> {
  await page.goto(`${gateway.url}/chat/`);
  await page.fill("#name", name);
  await page.fill("#room", ROOM);
  await page.click("#join-form button[type=submit]");
  await page.locator("#room-view").waitFor({ state: "visible" });
}

async function send(page: Page, text: string): Promise<void> {
  await page.fill("#message", text);
  await page.press("#message", "Enter");
}

// A network that drops WebSocket: the constructor exists but every socket fails at once, which is
// what phoenix.js sees behind such proxies (and the browser logs nothing). Plain JS text: the
// test file's own transpiled functions would carry helpers the page does not have.
const BLOCK_WEBSOCKET = `
  class BlockedWebSocket extends EventTarget {
    constructor(url) {
      super();
      this.url = url;
      this.readyState = 0;
      setTimeout(() => {
        this.readyState = 3;
        this.onerror?.(new Event("error"));
        this.onclose?.(new CloseEvent("close", { code: 1006, wasClean: false }));
      }, 20);
    }
    send() {}
    close() {}
  }
  Object.defineProperty(window, "WebSocket", { value: BlockedWebSocket });
`;

const presenceOf = (page: Page, user: string) => page.locator(`#presence li[data-user="${user}"]`);
const message = (page: Page, text: string) => page.locator("#messages .body", { hasText: text });

describe("web: chat and dashboard in a browser, across two nodes", { timeout: 120_000 }, () => {
  let redis: RedisProcess;
  let nodes: GatewayProcess[] = [];
  let browser: Browser;
  let alice: Page;
  let bob: Page;
  let dashboard: Page;

  before(async () => {
    buildWeb();
    redis = await startRedis();
    const env = { WEB_ROOT: WEB_DIST, ADMIN_SECRET, TOKEN_ENDPOINT: "protected" };
    nodes = await Promise.all([1, 2].map((n) => startGateway({ redisUrl: redis.url, nodeId: `web-node-${n}`, env })));
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  });

  it("every node serves the pages", async () => {
    for (const node of nodes) {
      for (const path of ["/", "/chat/", "/admin/"]) {
        const response = await fetch(`${node.url}${path}`);
        assert.equal(response.status, 200, `${node.nodeId} ${path}`);
        assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
      }
    }
  });

  it("the dashboard signs in with a token minted from the admin secret", async () => {
    const refused = await browser.page(WRONG_SECRET_PAGE);
    await refused.goto(`${nodes[0]!.url}/admin/`);
    await refused.fill("#admin-secret", "wrong-secret");
    await refused.click("#mint-form button[type=submit]");
    await refused.locator("#auth-error", { hasText: "unauthorized" }).waitFor();
    assert.equal(await refused.isVisible("#dashboard"), false);
    await refused.close();

    dashboard = await browser.page("dashboard");
    await dashboard.goto(`${nodes[0]!.url}/admin/`);
    await dashboard.fill("#admin-secret", ADMIN_SECRET);
    await dashboard.click("#mint-form button[type=submit]");
    await dashboard.locator("#dashboard").waitFor({ state: "visible" });
    await dashboard.locator('#connection[data-phase="connected"]').waitFor();
    await dashboard.locator(`#nodes tr[data-node="${nodes[0]!.nodeId}"]`).waitFor();
  });

  it("two pages on two nodes chat and see each other in presence", async () => {
    alice = await browser.page("alice");
    bob = await browser.page("bob");
    await joinChat(alice, nodes[0]!, "alice");
    await joinChat(bob, nodes[1]!, "bob");
    for (const page of [alice, bob]) {
      await presenceOf(page, "alice").waitFor();
      await presenceOf(page, "bob").waitFor();
      assert.equal(await page.textContent("#online-count"), "2");
      assert.equal(await page.getAttribute("#connection", "data-transport"), "websocket");
    }
    await send(alice, "Hi Bob, I'm on node one.");
    await message(bob, "I'm on node one").waitFor();
    await send(bob, "Hello Alice! Node two here, and I can see you in presence.");
    await message(alice, "Node two here").waitFor();
    await message(bob, "Node two here").waitFor();
    assert.equal(await alice.locator("#messages .message.mine").count(), 1, "alice's own line is marked as hers");
  });

  it("typing shows on the other page only", async () => {
    await bob.locator("#message").pressSequentially("bob is writing");
    await alice.locator("#typing", { hasText: "bob is typing" }).waitFor();
    assert.equal(await bob.textContent("#typing"), "", "the typist is not told about itself");
    await send(bob, "Typing indicators cross nodes too.");
    await eventually(async () => (await alice.textContent("#typing")) === "", "typing cleared by bob's message");
    await bob.locator("#message").pressSequentially("one more");
    await alice.locator("#typing", { hasText: "bob is typing" }).waitFor();
    await browser.screenshot(alice, "web-chat.png");
  });

  it("a user with two tabs is listed once with the tab count", async () => {
    const secondTab = await browser.page("alice-tab-2");
    await joinChat(secondTab, nodes[1]!, "alice");
    await bob.locator('#presence li[data-user="alice"][data-tabs="2"]', { hasText: "2 tabs" }).waitFor();
    assert.equal(await bob.textContent("#online-count"), "2");
    await secondTab.close();
    await bob.locator('#presence li[data-user="alice"][data-tabs="1"]').waitFor({ timeout: CROSS_NODE_MS });
  });

  it("the dashboard shows both nodes, the topic with 2 members, and its chart moves while messages flow", async () => {
    for (const node of nodes) await dashboard.locator(`#nodes tr[data-node="${node.nodeId}"]`).waitFor();
    await dashboard.locator(`#topics tr[data-topic="${TOPIC}"][data-members="2"]`).waitFor({ timeout: CROSS_NODE_MS });
    await dashboard.locator('#activity li', { hasText: TOPIC }).first().waitFor();

    const chart = dashboard.locator("#deliveries-chart");
    const clusterRate = async () => Number((await chart.getAttribute("data-latest"))?.split(",")[0]);
    // Quiet first, so what the chart shows next is the burst and not the joins before it.
    await eventually(async () => (await clusterRate()) === 0, "deliveries/s back to zero", FLOW_VISIBLE_MS);
    const pointsBefore = Number(await chart.getAttribute("data-points"));
    // Messages flow until the chart shows them (bounded), so a slow machine only makes it longer.
    let flowing = true;
    let sent = 0;
    const flow = (async () => {
      while (flowing) {
        await send(sent % 2 === 0 ? alice : bob, `burst ${sent}`);
        sent += 1;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      // The cluster series is the first value; it must leave zero while the burst is delivered.
      await eventually(
        async () => (await clusterRate()) > 0,
        "deliveries/s above zero on the chart",
        FLOW_VISIBLE_MS,
      );
      // The topic's messages/s comes from the nodes' broadcast counts (channel.list), not "–".
      const topicRate = dashboard.locator(`#topics tr[data-topic="${TOPIC}"] td`).nth(2);
      await eventually(async () => Number((await topicRate.textContent()) ?? "") > 0, "the topic's messages/s above zero", FLOW_VISIBLE_MS);
      await browser.screenshot(dashboard, "web-admin.png");
    } finally {
      flowing = false;
      await flow;
    }
    await message(alice, `burst ${sent - 1}`).waitFor();
    assert.ok(Number(await chart.getAttribute("data-points")) > pointsBefore, "the chart gained points");
    await dashboard.locator(".uplot").first().waitFor();
  });

  it("the dashboard lists every node with connections and uptime", async () => {
    for (const node of nodes) {
      const row = dashboard.locator(`#nodes tr[data-node="${node.nodeId}"]`);
      await eventually(async () => /^\d+$/.test((await row.locator("td").nth(1).textContent()) ?? ""), `${node.nodeId} connections`);
      assert.match((await row.locator("td").nth(3).textContent()) ?? "", /^\d+[smhd]/);
    }
  });

  it("the dashboard publishes a test message into the room, never into admin", async () => {
    await dashboard.fill("#publish-topic", TOPIC);
    await dashboard.fill("#publish-event", "new_msg");
    await dashboard.fill("#publish-payload", JSON.stringify({ user: "admin", body: "Announcement from the dashboard" }));
    await dashboard.click("#publish-form button[type=submit]");
    await dashboard.locator('#publish-result[data-ok="true"]').waitFor();
    await message(alice, "Announcement from the dashboard").waitFor();
    await message(bob, "Announcement from the dashboard").waitFor();
    await dashboard.fill("#publish-topic", "admin");
    await dashboard.click("#publish-form button[type=submit]");
    await dashboard.locator('#publish-result[data-ok="false"]').waitFor();
  });

  it("a page that closes leaves the other page's presence within seconds", async () => {
    await bob.close();
    await presenceOf(alice, "bob").waitFor({ state: "detached", timeout: CROSS_NODE_MS });
    assert.equal(await alice.textContent("#online-count"), "1");
    await dashboard.locator(`#topics tr[data-topic="${TOPIC}"][data-members="1"]`).waitFor({ timeout: CROSS_NODE_MS });
  });

  it("with WebSocket blocked a page falls back to LongPoll and still chats", async () => {
    const carol = await browser.page("carol-longpoll");
    await carol.addInitScript({ content: BLOCK_WEBSOCKET });
    await joinChat(carol, nodes[1]!, "carol");
    await carol.locator('#connection[data-phase="connected"][data-transport="longpoll"][data-fallback="true"]').waitFor();
    await presenceOf(alice, "carol").waitFor({ timeout: CROSS_NODE_MS });
    await send(carol, "hello over long-poll");
    await message(alice, "hello over long-poll").waitFor({ timeout: CROSS_NODE_MS });
    await send(alice, "long-poll reaches you too");
    await message(carol, "long-poll reaches you too").waitFor({ timeout: CROSS_NODE_MS });
    await browser.screenshot(carol, "web-chat-longpoll.png");
  });

  it("the transport switch moves a joined page to LongPoll and back", async () => {
    await alice.selectOption("#transport", "longpoll");
    await alice.locator('#connection[data-phase="connected"][data-transport="longpoll"][data-fallback="false"]').waitFor();
    await presenceOf(alice, "carol").waitFor();
    await send(alice, "now polling");
    await message(alice, "now polling").waitFor();
    await alice.selectOption("#transport", "websocket");
    await alice.locator('#connection[data-phase="connected"][data-transport="websocket"]').waitFor();
  });

  it("no page logged an error", () => {
    // The refused sign-in's 401 is the one error the browser must log.
    const [expected, unexpected] = partition(browser.errors(), (error) => error.startsWith(`${WRONG_SECRET_PAGE}:`));
    assert.deepEqual(unexpected, []);
    assert.equal(expected.length, 1);
    assert.match(expected[0]!, /401/);
  });
});
