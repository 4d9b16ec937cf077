/**
 * What the dashboard knows about the cluster, merged from its sources: the admin channel
 * (topics, member counts, lifecycle events, the node registry) and /metrics scrapes of whichever
 * node answers (behind a round-robin proxy that is a different node each time). Pure: the page
 * feeds it and renders from it.
 */
export interface NodeView {
  readonly id: string;
  address?: string;
  connections?: number;
  startedAt?: number;
  /** When any source last vouched for the node. */
  lastSeen: number;
  /** Latest frames-written-per-second figure, from two counter readings of this node. */
  deliveriesPerSecond?: number;
}

export interface TopicView {
  readonly topic: string;
  members: number;
  /** Broadcasts per second, when the admin channel reports message counts. */
  messagesPerSecond?: number;
}

export interface NodeReading {
  readonly id: string;
  readonly at: number;
  readonly address?: string;
  readonly connections?: number;
  readonly startedAt?: number;
  /** Cumulative frames written (a counter). */
  readonly deliveries?: number;
}

export interface TopicReading {
  readonly topic: string;
  readonly members: number;
  /** Cumulative broadcasts (a counter), when reported. */
  readonly messages?: number;
}

// A node silent for this long (no registry entry, no scrape, no event) leaves the table: the
// registry's own TTL is shorter, so only nodes seen through events or scrapes can linger here.
const NODE_FORGET_MS = 30_000;

interface CounterReading {
  readonly value: number;
  readonly at: number;
}

export class ClusterState {
  readonly nodes = new Map<string, NodeView>();
  readonly topics = new Map<string, TopicView>();
  private readonly deliveryCounters = new Map<string, CounterReading>();
  private readonly messageCounters = new Map<string, CounterReading>();

  /** A reading of one node, from the registry or from the node's own /metrics. */
  observeNode(reading: NodeReading): void {
    const node = this.nodes.get(reading.id) ?? { id: reading.id, lastSeen: reading.at };
    // The registry's entry can be a heartbeat older than a scrape just taken: older figures lose.
    const fresher = reading.at >= node.lastSeen;
    node.lastSeen = Math.max(node.lastSeen, reading.at);
    if (reading.address !== undefined) node.address = reading.address;
    if (reading.startedAt !== undefined) node.startedAt = reading.startedAt;
    if (reading.connections !== undefined && fresher) node.connections = reading.connections;
    if (reading.deliveries !== undefined) {
      const rate = rateOf(this.deliveryCounters, reading.id, reading.deliveries, reading.at);
      if (rate !== undefined) node.deliveriesPerSecond = rate;
    }
    this.nodes.set(reading.id, node);
  }

  /** A node named by a lifecycle event: proves it is alive, says nothing else. */
  noticeNode(id: string, at: number): void {
    this.observeNode({ id, at });
  }

  /** The full topic list (`channel.list`): topics absent from it are gone. */
  replaceTopics(readings: readonly TopicReading[], at: number): void {
    const present = new Set(readings.map((reading) => reading.topic));
    for (const topic of this.topics.keys()) if (!present.has(topic)) this.removeTopic(topic);
    for (const reading of readings) this.setMembers(reading.topic, reading.members, reading.messages, at);
  }

  setMembers(topic: string, members: number, messages: number | undefined, at: number): void {
    const view = this.topics.get(topic) ?? { topic, members };
    view.members = members;
    if (messages !== undefined) {
      const rate = rateOf(this.messageCounters, topic, messages, at);
      if (rate !== undefined) view.messagesPerSecond = rate;
    }
    this.topics.set(topic, view);
  }

  removeTopic(topic: string): void {
    this.topics.delete(topic);
    this.messageCounters.delete(topic);
  }

  forgetSilentNodes(now: number): void {
    for (const [id, node] of this.nodes) {
      if (now - node.lastSeen > NODE_FORGET_MS) {
        this.nodes.delete(id);
        this.deliveryCounters.delete(id);
      }
    }
  }

  totals(): { connections: number; deliveriesPerSecond: number; members: number } {
    let connections = 0;
    let deliveriesPerSecond = 0;
    for (const node of this.nodes.values()) {
      connections += node.connections ?? 0;
      deliveriesPerSecond += node.deliveriesPerSecond ?? 0;
    }
    let members = 0;
    for (const topic of this.topics.values()) members += topic.members;
    return { connections, deliveriesPerSecond, members };
  }
}

/**
 * Per-second rate between the previous reading of a counter and this one. A counter that went
 * down (process restart) starts over; a reading at the same instant changes nothing.
 */
function rateOf(counters: Map<string, CounterReading>, key: string, value: number, at: number): number | undefined {
  const previous = counters.get(key);
  if (previous && at <= previous.at) return undefined;
  counters.set(key, { value, at });
  if (!previous || value < previous.value) return undefined;
  return ((value - previous.value) * 1000) / (at - previous.at);
}
