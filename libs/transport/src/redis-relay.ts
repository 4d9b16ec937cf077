import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { LongPollAnswer } from "./longpoll-answer.ts";
import type { LongPollRelay, RelayedExchange, RelayedRequest, RelayHandler } from "./longpoll-relay.ts";

/**
 * Redis pub/sub between nodes, one channel per node (`<prefix>longpoll:<node id>`), JSON messages:
 *
 *   forwarder → owner   {"type":"request","from","id","request":{kind,sessionId,..}}
 *   forwarder → owner   {"type":"cancel","from","id"}        the client went away mid-poll
 *   owner → forwarder   {"type":"answer","id","answer":{status,..}}
 *
 * A PUBLISH that reaches no subscriber means the owner is gone: the forwarder knows at once,
 * without waiting for a timeout.
 */
type RelayMessage =
  | { type: "request"; from: string; id: number; request: RelayedRequest }
  | { type: "cancel"; from: string; id: number }
  | { type: "answer"; id: number; answer: LongPollAnswer };

export interface RedisRelayOptions {
  /** Publishes; a duplicate of it subscribes (a subscribed connection can do nothing else). */
  redis: Redis;
  nodeId: string;
  keyPrefix: string;
  logger: Logger;
}

export interface RedisLongPollRelay extends LongPollRelay {
  /** Resolves once this node receives relayed requests; a forwarder sees a node that is not subscribed as gone. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/** ms between SUBSCRIBE attempts while Redis is unreachable. */
const SUBSCRIBE_RETRY_MS = 500;

interface Pending {
  resolve(answer: LongPollAnswer | undefined): void;
  timer: NodeJS.Timeout;
}

export function createRedisLongPollRelay({ redis, nodeId, keyPrefix, logger }: RedisRelayOptions): RedisLongPollRelay {
  const channelOf = (node: string) => `${keyPrefix}longpoll:${node}`;
  const subscriber = redis.duplicate();
  const pending = new Map<number, Pending>();
  /** Relayed polls waiting at this node, by forwarder and id, so a cancel can end them. */
  const waiting = new Map<string, () => void>();
  let handler: RelayHandler | undefined;
  let nextId = 0;

  const publish = (node: string, message: RelayMessage): Promise<number> => redis.publish(channelOf(node), JSON.stringify(message));

  const settle = (id: number, answer: LongPollAnswer | undefined) => {
    const entry = pending.get(id);
    if (!entry) return;
    pending.delete(id);
    clearTimeout(entry.timer);
    entry.resolve(answer);
  };

  const serveRequest = (from: string, id: number, request: RelayedRequest) => {
    const answer = (result: LongPollAnswer) => {
      publish(from, { type: "answer", id, answer: result }).catch((error: unknown) => logger.warn({ err: error, to: from }, "longpoll relay answer lost"));
    };
    if (!handler) return answer({ status: 410 });
    if (request.kind === "post") return answer(handler.post(request.sessionId, request.body, request.contentType));
    const key = `${from} ${id}`;
    let answered = false;
    const cancel = handler.poll(request.sessionId, (result) => {
      answered = true;
      waiting.delete(key);
      answer(result);
    });
    if (!answered) waiting.set(key, cancel);
  };

  const onMessage = (_channel: string, text: string) => {
    let message: RelayMessage;
    try {
      message = JSON.parse(text) as RelayMessage;
    } catch {
      logger.warn({ bytes: text.length }, "longpoll relay message is not JSON, dropped");
      return;
    }
    switch (message.type) {
      case "request":
        return serveRequest(message.from, message.id, message.request);
      case "cancel": {
        const key = `${message.from} ${message.id}`;
        waiting.get(key)?.();
        waiting.delete(key);
        return;
      }
      case "answer":
        return settle(message.id, message.answer);
    }
  };

  subscriber.on("message", onMessage);
  subscriber.on("error", (error: Error) => logger.warn({ err: error }, "longpoll relay subscriber error"));
  let closed = false;
  // With Redis away (at start, too) SUBSCRIBE fails after the connection's retries; it is tried
  // again until it holds, so the node becomes ready when Redis comes.
  const subscribe = (): Promise<void> =>
    subscriber.subscribe(channelOf(nodeId)).then(
      () => undefined,
      (error: unknown) => {
        if (closed) return;
        logger.warn({ err: error }, "longpoll relay subscribe failed, retrying");
        return new Promise<void>((resolve) => setTimeout(resolve, SUBSCRIBE_RETRY_MS)).then(subscribe);
      },
    );
  const ready = subscribe();

  return {
    ready,
    serve(serveWith) {
      handler = serveWith;
    },
    forward(owner, request, timeoutMs): RelayedExchange {
      const id = nextId++;
      const answer = new Promise<LongPollAnswer | undefined>((resolve) => {
        pending.set(id, { resolve, timer: setTimeout(() => settle(id, undefined), timeoutMs) });
      });
      publish(owner, { type: "request", from: nodeId, id, request }).then(
        (receivers) => {
          if (receivers === 0) settle(id, undefined);
        },
        (error: unknown) => {
          logger.warn({ err: error, owner }, "longpoll relay request failed");
          settle(id, undefined);
        },
      );
      return {
        answer,
        cancel() {
          if (!pending.has(id)) return;
          settle(id, undefined);
          publish(owner, { type: "cancel", from: nodeId, id }).catch(() => undefined);
        },
      };
    },
    async close() {
      closed = true;
      handler = undefined;
      for (const cancel of waiting.values()) cancel();
      waiting.clear();
      for (const id of [...pending.keys()]) settle(id, undefined);
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
