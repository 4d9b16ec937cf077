import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { Cluster } from "@switchboard/cluster";
import type { Broadcast } from "@switchboard/protocol";
import { parseBackendReply } from "./backend-reply.ts";
import { parseChannelName, REPLY_PREFIX, TO_PREFIX } from "./channel-name.ts";
import type { LeaderLease } from "./lease.ts";
import { classifyPayload } from "./payload.ts";

/** V2 binary frames carry topic and event lengths in one byte each. */
const MAX_NAME_BYTES = 255;
/**
 * Messages read while a late renewal is pending wait for its answer. A pending renewal is
 * answered or times out within about a second; this bounds the memory of one such second at
 * well above the saturation rate measured for one bridge.
 */
export const MAX_AWAITING_RENEWAL = 100_000;

/** A UTF-16 code unit is at most 3 bytes of UTF-8: names of up to a third of the limit in characters are never measured. */
const tooLong = (name: string) => name.length > MAX_NAME_BYTES / 3 && Buffer.byteLength(name) > MAX_NAME_BYTES;

export interface IngestStats {
  /** `to:` messages handed to the cluster. */
  forwarded: number;
  /** Backend replies handed to the cluster. */
  replies: number;
  /** Messages seen while standing by (another replica forwards them), or read after the lease was lost. */
  standby: number;
  /** Messages read while a renewal was pending and held until it answered. */
  awaitedRenewal: number;
  /** Unusable channel names or reply bodies; each is logged. */
  malformed: number;
}

export interface IngestOptions {
  /** `broadcast` is the bridge's forwarder: it takes the message over (order, retries) from here. */
  cluster: Pick<Cluster, "reply"> & { broadcast(broadcast: Broadcast): void };
  /**
   * Only the lease holder forwards, so each message reaches the cluster once: a message counts
   * as the holder's when it was read before a deadline the lease has confirmed, even if the
   * confirming renewal answers after the read.
   */
  lease: Pick<LeaderLease, "isHolding" | "validUntil" | "on">;
  logger: Logger;
}

export interface Ingest {
  readonly stats: Readonly<IngestStats>;
  /** One message from the bridge's `to:*` / `reply:*` pattern subscription, raw. */
  receive(channel: Buffer, data: Buffer): void;
}

/**
 * Backend → cluster: `to:<topic>:<event>` becomes a broadcast to every member of the topic on
 * every node; `reply:<topic>` becomes a `phx_reply` to the one socket that pushed.
 */
export function createIngest(options: IngestOptions): Ingest {
  const { cluster, lease, logger } = options;
  const stats: IngestStats = { forwarded: 0, replies: 0, standby: 0, awaitedRenewal: 0, malformed: 0 };
  let awaiting: Array<{ channel: Buffer; data: Buffer; readAt: number }> = [];

  const malformed = (channel: string, error: string) => {
    stats.malformed++;
    logger.warn({ channel, error }, "dropped backend message");
  };

  const forward = (channel: string, data: Buffer) => {
    const target = parseChannelName(TO_PREFIX, channel);
    if (!target) return malformed(channel, "expected to:<topic>:<event>");
    if (tooLong(target.topic) || tooLong(target.event)) {
      return malformed(channel, `topic and event must be at most ${MAX_NAME_BYTES} bytes`);
    }
    stats.forwarded++;
    cluster.broadcast({ topic: target.topic, event: target.event, payload: classifyPayload(data) });
  };

  const reply = (channel: string, data: Buffer) => {
    const topic = channel.slice(REPLY_PREFIX.length);
    if (topic.length === 0) return malformed(channel, "expected reply:<topic>");
    const parsed = parseBackendReply(topic, data);
    if (!parsed.ok) return malformed(channel, parsed.error);
    stats.replies++;
    cluster.reply(parsed.value.socket, parsed.value.reply).then(
      (delivered) => {
        if (!delivered) logger.debug({ topic, socket: parsed.value.socket }, "backend reply for a socket that is gone");
      },
      (error: unknown) => logger.warn({ err: error, topic }, "backend reply failed"),
    );
  };

  const dispatch = (channelBytes: Buffer, data: Buffer) => {
    const channel = channelBytes.toString("utf8");
    if (channel.startsWith(TO_PREFIX)) forward(channel, data);
    else if (channel.startsWith(REPLY_PREFIX)) reply(channel, data);
    else malformed(channel, "not a bridge channel");
  };

  lease.on("renewed", () => {
    const validUntil = lease.validUntil();
    const confirmed = awaiting.filter((message) => message.readAt < validUntil);
    awaiting = awaiting.filter((message) => message.readAt >= validUntil);
    for (const message of confirmed) dispatch(message.channel, message.data);
  });
  lease.on("change", (leader) => {
    if (leader || awaiting.length === 0) return;
    stats.standby += awaiting.length;
    logger.warn({ dropped: awaiting.length }, "lease lost while messages awaited a renewal: dropped");
    awaiting = [];
  });

  return {
    stats,
    receive(channel, data) {
      if (!lease.isHolding()) {
        stats.standby++;
      } else if (awaiting.length === 0 && performance.now() < lease.validUntil()) {
        dispatch(channel, data);
      } else if (awaiting.length < MAX_AWAITING_RENEWAL) {
        stats.awaitedRenewal++;
        awaiting.push({ channel, data, readAt: performance.now() });
      } else {
        stats.standby++;
      }
    },
  };
}
