import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Config } from "@switchboard/config";
import { createTokenEndpoint, createTokenIssuer } from "@switchboard/auth";
import type { Metrics } from "../metrics.ts";
import { createStaticHandler } from "./static.ts";

/** Where `npm run build -w apps/web` puts the UI, relative to the repository root (npm start's cwd). */
const DEFAULT_WEB_ROOT = "apps/web/dist";

export interface RouteOptions {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  ready(): boolean;
}

/** The node's plain HTTP surface: probes, metrics, the tangram `/token` endpoint. */
export function createHttpRoutes(options: RouteOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { config, logger, metrics } = options;
  const token = createTokenEndpoint({
    mode: config.tokenEndpoint,
    adminSecret: config.adminSecret,
    allowedOrigins: config.allowedOrigins,
    logger,
    // The same algorithm, issuer and audience the node's verifier demands, so it accepts its own tokens.
    issue: createTokenIssuer({
      secret: config.jwtSecret,
      algorithms: config.jwtAlgorithms,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      ttlSeconds: config.tokenTtlSeconds,
    }),
  });

  const webRoot = config.webRoot ?? (existsSync(DEFAULT_WEB_ROOT) ? DEFAULT_WEB_ROOT : undefined);
  const staticFiles = webRoot ? createStaticHandler(webRoot) : undefined;

  return (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    switch (path) {
      case "/healthz":
        return json(res, 200, { status: "ok", node: config.nodeId });
      case "/readyz": {
        const ready = options.ready();
        return json(res, ready ? 200 : 503, { status: ready ? "ready" : "not_ready", node: config.nodeId });
      }
      case "/metrics":
        metrics.registry.metrics().then(
          (body) => {
            res.writeHead(200, { "content-type": metrics.registry.contentType });
            res.end(body);
          },
          (error: unknown) => {
            logger.error({ err: error }, "metrics collection failed");
            json(res, 500, { error: { code: "metrics_failed", message: "metrics collection failed" } });
          },
        );
        return;
      case "/token":
        token(req, res).catch((error: unknown) => {
          logger.error({ err: error }, "token endpoint failed");
          if (!res.headersSent) json(res, 500, { error: { code: "internal", message: "token endpoint failed" } });
        });
        return;
      default:
        if (staticFiles?.(req, res)) return;
        return json(res, 404, { error: { code: "not_found", message: `no route for ${path}` } });
    }
  };
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
