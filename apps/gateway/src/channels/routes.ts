import type { Logger } from "pino";
import type { Redis } from "ioredis";
import { ADMIN_TOPIC, createTokenVerifier } from "@switchboard/auth";
import type { ChannelEvents, ChannelHandler, Router } from "@switchboard/channels";
import type { Cluster } from "@switchboard/cluster";
import type { Config } from "@switchboard/config";
import type { Presence } from "@switchboard/presence";
import { createAdmin } from "./admin.ts";
import { createBridgeChannel } from "./bridge.ts";
import { roomsChannel } from "./rooms.ts";

export interface RouteDeps {
  config: Config;
  cluster: Cluster;
  presence: Presence;
  redis: Redis;
  logger: Logger;
}

/** tangram's predefined channel with the `datetime` tick (sent by the bridge app); otherwise a bridge topic. */
const SYSTEM_TOPIC = "system";

/**
 * Every channel route of a gateway node; more specific patterns win (see createRouter).
 * Returns channel lifecycle hooks the routes need (the admin announcements); the node adds them
 * to its metrics hooks.
 */
export function registerRoutes(router: Router<ChannelHandler>, deps: RouteDeps): ChannelEvents {
  const { config, cluster, redis, logger } = deps;
  const verifier = createTokenVerifier({
    secret: config.jwtSecret,
    algorithms: config.jwtAlgorithms,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
  });
  const bridge = createBridgeChannel({
    verifier,
    publisher: redis,
    nodeId: config.nodeId,
    maxForwardPayloadBytes: config.maxForwardPayloadBytes,
    envelopePatterns: config.envelopePatterns,
    logger: logger.child({ route: "bridge" }),
  });
  const admin = createAdmin({ verifier, redis, cluster, nodeId: config.nodeId, keyPrefix: config.redisKeyPrefix, logger: logger.child({ route: "admin" }) });
  admin.sweepStale().catch((failure: unknown) => logger.warn({ err: failure }, "admin: stale channel counts not swept"));

  if (config.exampleRooms) router.route("rooms:*", roomsChannel);
  for (const pattern of config.bridgePatterns) router.route(pattern, bridge);
  router.route(SYSTEM_TOPIC, bridge);
  router.route(ADMIN_TOPIC, admin.handler);
  return admin.events;
}
