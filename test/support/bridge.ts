import { freePort } from "./ports.ts";
import { spawnApp, type GatewayProcess } from "./gateway.ts";

export interface BridgeStatus {
  node: string;
  leader: boolean;
  ready: boolean;
  forwarded: number;
  replies: number;
  standby: number;
  malformed: number;
}

export interface BridgeProcess extends GatewayProcess {
  /** The bridge's `/healthz` body: whether it holds the lease, and its counters. */
  status(): Promise<BridgeStatus>;
}

export interface BridgeOptions {
  redisUrl: string;
  nodeId?: string;
  env?: Record<string, string>;
}

/** Starts `apps/bridge` as a real process (health endpoint on 127.0.0.1) and waits until /healthz answers. */
export async function startBridge(options: BridgeOptions): Promise<BridgeProcess> {
  const port = await freePort();
  const nodeId = options.nodeId ?? `test-bridge-${port}`;
  const bridge = await spawnApp("apps/bridge/src/main.ts", {
    nodeId,
    port,
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      REDIS_URL: options.redisUrl,
      NODE_ID: nodeId,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn",
      ...options.env,
    },
  });
  return {
    ...bridge,
    status: async () => (await (await fetch(`${bridge.url}/healthz`)).json()) as BridgeStatus,
  };
}
