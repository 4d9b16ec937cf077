/// <reference lib="dom" />
import "./style.css";
import { renderConnection, watchConnection } from "../shared/connection-status.ts";
import { byId } from "../shared/dom.ts";
import { openSocket, pushAsync, PushError } from "../shared/phoenix.ts";
import type { PhxChannel, PhxSocket } from "../shared/phoenix.ts";
import { AdminPush, AdminTopic, LIFECYCLE_EVENTS, parseChannelList, parseLifecycle, parseNodeList } from "./admin-wire.ts";
import type { LifecycleEvent } from "./admin-wire.ts";
import { ClusterState } from "./cluster-state.ts";
import { scrapeNode } from "./node-metrics.ts";
import { TimeChart } from "./time-chart.ts";
import { mintAdminToken, savedToken } from "./token.ts";
import { addActivity, formatRate, renderKnownTopics, renderNodes, renderTopics } from "./views.ts";

// One refresh a second: the charts' resolution, and cheap for the gateway (one HGETALL, one
// registry read, one /metrics render).
const REFRESH_MS = 1_000;
const CLUSTER_SERIES = "cluster";

const ui = {
  connection: byId("connection", HTMLElement),
  signOut: byId("sign-out", HTMLButtonElement),
  auth: byId("auth", HTMLElement),
  mintForm: byId("mint-form", HTMLFormElement),
  adminSecret: byId("admin-secret", HTMLInputElement),
  tokenForm: byId("token-form", HTMLFormElement),
  adminToken: byId("admin-token", HTMLTextAreaElement),
  authError: byId("auth-error", HTMLElement),
  dashboard: byId("dashboard", HTMLElement),
  totalNodes: byId("total-nodes", HTMLElement),
  totalConnections: byId("total-connections", HTMLElement),
  totalTopics: byId("total-topics", HTMLElement),
  totalDeliveries: byId("total-deliveries", HTMLElement),
  deliveriesChart: byId("deliveries-chart", HTMLElement),
  connectionsChart: byId("connections-chart", HTMLElement),
  nodes: byId("nodes", HTMLTableSectionElement),
  nodesNote: byId("nodes-note", HTMLElement),
  topics: byId("topics", HTMLTableSectionElement),
  topicsEmpty: byId("topics-empty", HTMLElement),
  activity: byId("activity", HTMLOListElement),
  knownTopics: byId("known-topics", HTMLDataListElement),
  publishForm: byId("publish-form", HTMLFormElement),
  publishTopic: byId("publish-topic", HTMLInputElement),
  publishEvent: byId("publish-event", HTMLInputElement),
  publishPayload: byId("publish-payload", HTMLTextAreaElement),
  publishResult: byId("publish-result", HTMLElement),
};

interface Connected {
  readonly socket: PhxSocket;
  readonly channel: PhxChannel;
  readonly stopWatching: () => void;
  readonly timer: ReturnType<typeof setInterval>;
}

let connected: Connected | undefined;
let state = new ClusterState();
// Unknown until the first `node.list`; a gateway without it still shows the nodes it can see.
let nodeListSupported: boolean | undefined;
const deliveriesChart = new TimeChart(ui.deliveriesChart, "/s");
const connectionsChart = new TimeChart(ui.connectionsChart, "");

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function connect(token: string): Promise<void> {
  disconnect();
  const socket = openSocket("websocket");
  const stopWatching = watchConnection(socket, "websocket", (connection) => renderConnection(ui.connection, connection));
  const channel = socket.channel(AdminTopic, { token });
  for (const kind of LIFECYCLE_EVENTS) {
    channel.on(kind, (payload) => {
      const event = parseLifecycle(kind, payload);
      if (event) onLifecycle(event);
    });
  }
  const timer = setInterval(() => void refresh(), REFRESH_MS);
  connected = { socket, channel, stopWatching, timer };
  try {
    await pushAsync(channel.join());
  } catch (error) {
    disconnect();
    throw error;
  }
}

function disconnect(): void {
  if (!connected) return;
  const { socket, channel, stopWatching, timer } = connected;
  connected = undefined;
  clearInterval(timer);
  stopWatching();
  channel.leave();
  socket.disconnect();
  ui.connection.removeAttribute("data-phase");
  ui.connection.textContent = "Not connected";
}

function onLifecycle(event: LifecycleEvent): void {
  const now = Date.now();
  if (event.node !== undefined) state.noticeNode(event.node, now);
  if (event.kind === "channel.remove") state.removeTopic(event.topic);
  else if (event.members !== undefined) state.setMembers(event.topic, event.members, undefined, now);
  else if (!state.topics.has(event.topic)) state.setMembers(event.topic, 0, undefined, now);
  if (event.kind === "channel.join" || event.kind === "channel.leave") addActivity(ui.activity, event, new Date(now));
  render(now);
}

async function refresh(): Promise<void> {
  const session = connected;
  if (!session) return;
  await Promise.all([
    scrapeNode().then(
      (reading) => reading && state.observeNode(reading),
      () => undefined, // a node that does not answer this second is simply not sampled
    ),
    pushAsync(session.channel.push(AdminPush.LIST_CHANNELS, {})).then(
      (response) => {
        const topics = parseChannelList(response);
        if (topics) state.replaceTopics(topics, Date.now());
      },
      () => undefined,
    ),
    nodeListSupported === false
      ? undefined
      : pushAsync(session.channel.push(AdminPush.LIST_NODES, {})).then(
          (response) => {
            const nodes = parseNodeList(response, Date.now());
            nodeListSupported = nodes !== undefined;
            for (const node of nodes ?? []) state.observeNode(node);
          },
          (error: unknown) => {
            if (error instanceof PushError && error.status === "error") nodeListSupported = false;
          },
        ),
  ]);
  if (connected !== session) return;
  const now = Date.now();
  state.forgetSilentNodes(now);
  sample(now);
  render(now);
}

/** One point per chart: the cluster total and each node's own figure. */
function sample(now: number): void {
  const nodes = [...state.nodes.values()].sort((a, b) => a.id.localeCompare(b.id));
  const totals = state.totals();
  const deliveries = new Map<string, number>([[CLUSTER_SERIES, totals.deliveriesPerSecond]]);
  const connections = new Map<string, number>([[CLUSTER_SERIES, totals.connections]]);
  for (const node of nodes) {
    if (node.deliveriesPerSecond !== undefined) deliveries.set(node.id, node.deliveriesPerSecond);
    if (node.connections !== undefined) connections.set(node.id, node.connections);
  }
  deliveriesChart.push(now, deliveries);
  connectionsChart.push(now, connections);
}

function render(now: number): void {
  const totals = state.totals();
  ui.totalNodes.textContent = String(state.nodes.size);
  ui.totalConnections.textContent = String(totals.connections);
  ui.totalTopics.textContent = String(state.topics.size);
  ui.totalDeliveries.textContent = formatRate(totals.deliveriesPerSecond);
  renderNodes(ui.nodes, state.nodes.values(), now);
  renderTopics(ui.topics, ui.topicsEmpty, state.topics.values());
  renderKnownTopics(ui.knownTopics, state.topics.keys());
  ui.nodesNote.textContent =
    nodeListSupported === false
      ? "This gateway's admin channel has no node.list: showing the node answering /metrics and nodes named by recent events."
      : "";
}

function showDashboard(): void {
  ui.auth.hidden = true;
  ui.dashboard.hidden = false;
  ui.signOut.hidden = false;
}

function showAuth(message = ""): void {
  ui.dashboard.hidden = true;
  ui.auth.hidden = false;
  ui.signOut.hidden = true;
  ui.authError.textContent = message;
}

function signIn(token: Promise<string>): void {
  ui.authError.textContent = "";
  token
    .then(async (value) => {
      state = new ClusterState();
      nodeListSupported = undefined;
      ui.activity.replaceChildren();
      await connect(value);
      savedToken.set(value);
      showDashboard();
      await refresh();
    })
    .catch((error: unknown) => {
      savedToken.clear();
      showAuth(`Not signed in: ${errorText(error)}`);
    });
}

ui.mintForm.addEventListener("submit", (event) => {
  event.preventDefault();
  signIn(mintAdminToken(ui.adminSecret.value));
});

ui.tokenForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const token = ui.adminToken.value.trim();
  if (!token) return void (ui.authError.textContent = "Paste a token first.");
  signIn(Promise.resolve(token));
});

ui.signOut.addEventListener("click", () => {
  disconnect();
  savedToken.clear();
  showAuth();
});

ui.publishForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const report = (ok: boolean, text: string) => {
    ui.publishResult.dataset.ok = String(ok);
    ui.publishResult.textContent = text;
  };
  let payload: unknown;
  try {
    payload = JSON.parse(ui.publishPayload.value);
  } catch (error) {
    return report(false, `Payload is not JSON: ${errorText(error)}`);
  }
  if (!connected) return report(false, "Not connected.");
  const topic = ui.publishTopic.value.trim();
  const eventName = ui.publishEvent.value.trim();
  pushAsync(connected.channel.push(AdminPush.PUBLISH, { topic, event: eventName, payload })).then(
    () => report(true, `Published ${eventName} to ${topic}.`),
    (error: unknown) => report(false, `Not published: ${errorText(error)}`),
  );
});

const remembered = savedToken.get();
if (remembered) signIn(Promise.resolve(remembered));
