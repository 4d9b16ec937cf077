import { startApp, type GatewayProcess } from "./gateway.ts";

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
  const bridge = await startApp("apps/bridge/src/main.ts", "test-bridge", options);
  return {
    ...bridge,
    status: async () => (await (await fetch(`${bridge.url}/healthz`)).json()) as BridgeStatus,
  };
}
