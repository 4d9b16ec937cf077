import type { Broadcast } from "@switchboard/protocol";
import type { History } from "./history.ts";

export interface RecordedBroadcastOptions {
  exceptMemberId?: string;
  historyId?: string;
}

export type BroadcastFunction = (broadcast: Broadcast, options?: RecordedBroadcastOptions) => Promise<void>;

/**
 * Wraps a cluster's `broadcast` so broadcasts to recorded topics are appended to history first
 * and carry their id. The appends are pipelined on the Redis connection; the broadcasts of one
 * topic still leave in call order (each waits for the one before it), so live ids only grow.
 */
export function recordingBroadcast(history: History, broadcast: BroadcastFunction): BroadcastFunction {
  const lastOfTopic = new Map<string, Promise<void>>();
  return (message, options) => {
    const { topic } = message;
    if (!history.records(topic)) return broadcast(message, options);
    const recorded = history.record(topic, message.event, message.payload);
    const previous = lastOfTopic.get(topic);
    const sent = Promise.all([recorded, previous]).then(([historyId]) => broadcast(message, historyId === undefined ? options : { ...options, historyId }));
    lastOfTopic.set(topic, sent);
    const forget = () => {
      if (lastOfTopic.get(topic) === sent) lastOfTopic.delete(topic);
    };
    sent.then(forget, forget);
    return sent;
  };
}
