import type { NodeReading, TopicReading } from "./cluster-state.ts";

/**
 * The `admin` channel as the gateway speaks it (apps/gateway/src/channels/admin.ts): lifecycle
 * broadcasts `channel.add|join|leave|remove`, and pushes answered by a reply. Everything that
 * arrives is checked here; the rest of the dashboard sees typed values only.
 */
export const AdminTopic = "admin";

export const AdminPush = {
  LIST_CHANNELS: "channel.list",
  LIST_NODES: "node.list",
  PUBLISH: "publish",
} as const;

export const LIFECYCLE_EVENTS = ["channel.add", "channel.join", "channel.leave", "channel.remove"] as const;
export type LifecycleKind = (typeof LIFECYCLE_EVENTS)[number];

export interface LifecycleEvent {
  readonly kind: LifecycleKind;
  readonly topic: string;
  readonly node?: string;
  readonly socket?: string | null;
  /** Cluster-wide member count after the event (join/leave). */
  readonly members?: number;
  /** How many members a dead node took with it (leave with socket null). */
  readonly departed?: number;
}

type Fields = Record<string, unknown>;

function fields(value: unknown): Fields | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Fields) : undefined;
}

const text = (value: unknown) => (typeof value === "string" ? value : undefined);
const count = (value: unknown) => (typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined);

export function parseLifecycle(kind: LifecycleKind, payload: unknown): LifecycleEvent | undefined {
  const body = fields(payload);
  const topic = text(body?.topic);
  if (!body || topic === undefined) return undefined;
  const socket = body.socket === null ? null : text(body.socket);
  const node = text(body.node);
  const members = count(body.members);
  const departed = count(body.departed);
  return {
    kind,
    topic,
    ...(node !== undefined ? { node } : {}),
    ...(socket !== undefined ? { socket } : {}),
    ...(members !== undefined ? { members } : {}),
    ...(departed !== undefined ? { departed } : {}),
  };
}

/** `channel.list` reply: `{channels: [{topic, members, messages?}]}`. */
export function parseChannelList(response: unknown): TopicReading[] | undefined {
  const channels = fields(response)?.channels;
  if (!Array.isArray(channels)) return undefined;
  return channels.flatMap((entry: unknown) => {
    const body = fields(entry);
    const topic = text(body?.topic);
    const members = count(body?.members);
    if (topic === undefined || members === undefined) return [];
    const messages = count(body?.messages);
    return [{ topic, members, ...(messages !== undefined ? { messages } : {}) }];
  });
}

/** `node.list` reply: `{nodes: [{id, address?, startedAt, connections, lastSeen, deliveries?}]}`. */
export function parseNodeList(response: unknown, receivedAt: number): NodeReading[] | undefined {
  const nodes = fields(response)?.nodes;
  if (!Array.isArray(nodes)) return undefined;
  return nodes.flatMap((entry: unknown) => {
    const body = fields(entry);
    const id = text(body?.id);
    if (body === undefined || id === undefined) return [];
    const address = text(body.address);
    const connections = count(body.connections);
    const startedAt = count(body.startedAt);
    const deliveries = count(body.deliveries);
    return [
      {
        id,
        at: count(body.lastSeen) ?? receivedAt,
        ...(address !== undefined ? { address } : {}),
        ...(connections !== undefined ? { connections } : {}),
        ...(startedAt !== undefined ? { startedAt } : {}),
        ...(deliveries !== undefined ? { deliveries } : {}),
      },
    ];
  });
}
