import type { Logger } from "pino";
import type { Redis } from "ioredis";
import type { ChannelEvents, ChannelHandler, Router } from "@switchboard/channels";
import type { Cluster } from "@switchboard/cluster";
import type { Config } from "@switchboard/config";
import type { Presence } from "@switchboard/presence";
import { roomsChannel } from "./rooms.ts";

export interface RouteDeps {
  config: Config;
  cluster: Cluster;
  presence: Presence;
  redis: Redis;
  logger: Logger;
}

/**
 * Every channel route of a gateway node; more specific patterns win (see createRouter).
 * Returns channel lifecycle hooks the routes need (e.g. admin announcements); the node adds them
 * to its metrics hooks.
 */
export function registerRoutes(router: Router<ChannelHandler>, deps: RouteDeps): ChannelEvents {
  if (deps.config.exampleRooms) router.route("rooms:*", roomsChannel);
  return {};
}
