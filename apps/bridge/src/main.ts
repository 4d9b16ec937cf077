import { pino } from "pino";
import { loadConfig } from "@switchboard/config";
import { startBridge } from "./bridge.ts";

const loaded = loadConfig({ env: process.env });
if (!loaded.ok) {
  for (const error of loaded.errors) process.stderr.write(`config error: ${error}\n`);
  process.exit(2);
}
const { config } = loaded;
const logger = pino({ level: config.logLevel, base: { service: "bridge" } });
for (const warning of loaded.warnings) logger.warn(warning);

// The Helm chart names the bridge's health port HEALTH_PORT (a pod may share PORT's ConfigMap
// value with the gateways); the dev launcher and the tests give it PORT.
const healthPort = process.env.HEALTH_PORT ? Number(process.env.HEALTH_PORT) : config.port;
if (!Number.isInteger(healthPort) || healthPort < 0 || healthPort > 65535) {
  process.stderr.write(`config error: HEALTH_PORT: expected a port number 0–65535, got ${JSON.stringify(process.env.HEALTH_PORT)}\n`);
  process.exit(2);
}

const bridge = await startBridge({ ...config, port: healthPort }, logger).catch((error: unknown) => {
  logger.fatal({ err: error }, "bridge failed to start");
  process.exit(1);
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  bridge.close().then(
    () => {
      logger.info("bridge stopped");
      process.exit(0);
    },
    (error: unknown) => {
      logger.error({ err: error }, "bridge stop failed");
      process.exit(1);
    },
  );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.on("unhandledRejection", (reason) => logger.error({ err: reason }, "unhandled rejection"));
