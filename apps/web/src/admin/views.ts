/// <reference lib="dom" />
import { element, formatTime } from "../shared/dom.ts";
import type { LifecycleEvent } from "./admin-wire.ts";
import type { NodeView, TopicView } from "./cluster-state.ts";

// The feed is a glance at what just happened, not a log: older lines drop off.
const ACTIVITY_LINES = 50;

export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const [d, h, m, s] = [Math.floor(seconds / 86_400), Math.floor(seconds / 3600) % 24, Math.floor(seconds / 60) % 60, seconds % 60];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}

export function formatRate(perSecond: number | undefined): string {
  if (perSecond === undefined) return "–";
  return perSecond >= 100 ? perSecond.toFixed(0) : perSecond.toFixed(1);
}

export function renderNodes(body: HTMLTableSectionElement, nodes: Iterable<NodeView>, now: number): void {
  const sorted = [...nodes].sort((a, b) => a.id.localeCompare(b.id));
  body.replaceChildren(
    ...sorted.map((node) => {
      const row = element("tr");
      row.dataset.node = node.id;
      const name = element("td");
      name.append(node.id);
      if (node.address) name.append(element("span", "address", node.address));
      row.append(
        name,
        element("td", "num", node.connections === undefined ? "–" : String(node.connections)),
        element("td", "num", formatRate(node.deliveriesPerSecond)),
        element("td", undefined, node.startedAt === undefined ? "–" : formatDuration(now - node.startedAt)),
      );
      return row;
    }),
  );
}

export function renderTopics(body: HTMLTableSectionElement, empty: HTMLElement, topics: Iterable<TopicView>): void {
  const sorted = [...topics].sort((a, b) => b.members - a.members || a.topic.localeCompare(b.topic));
  body.replaceChildren(
    ...sorted.map((topic) => {
      const row = element("tr");
      row.dataset.topic = topic.topic;
      row.dataset.members = String(topic.members);
      row.append(element("td", undefined, topic.topic), element("td", "num", String(topic.members)), element("td", "num", formatRate(topic.messagesPerSecond)));
      return row;
    }),
  );
  empty.hidden = sorted.length > 0;
}

export function renderKnownTopics(list: HTMLDataListElement, topics: Iterable<string>): void {
  list.replaceChildren(...[...topics].sort().map((topic) => Object.assign(element("option"), { value: topic })));
}

export function addActivity(list: HTMLOListElement, event: LifecycleEvent, at: Date): void {
  const kind = event.kind.slice("channel.".length);
  const item = element("li");
  const time = element("time", undefined, formatTime(at));
  time.dateTime = at.toISOString();
  const label = element("span", "kind", kind);
  label.dataset.kind = kind;
  item.append(time, label, element("span", "what", describe(event)));
  list.prepend(item);
  while (list.childElementCount > ACTIVITY_LINES) list.lastElementChild?.remove();
}

function describe(event: LifecycleEvent): string {
  const parts = [event.topic];
  if (event.node !== undefined) parts.push(`on ${event.node}`);
  if (event.departed !== undefined) parts.push(`(node gone, ${event.departed} left with it)`);
  if (event.members !== undefined) parts.push(`· ${event.members} member${event.members === 1 ? "" : "s"}`);
  return parts.join(" ");
}
