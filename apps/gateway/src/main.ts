import { pino } from "pino";
import { loadConfig } from "@switchboard/config";
import { startGateway } from "./node.ts";

const loaded = loadConfig({ env: process.env });
if (!loaded.ok) {
  for (const error of loaded.errors) process.stderr.write(`config error: ${error}\n`);
  process.exit(2);
}
const { config } = loaded;
const logger = pino({ level: config.logLevel, base: { service: "gateway" } });
for (const warning of loaded.warnings) logger.warn(warning);

const gateway = await startGateway(config, logger).catch((error: unknown) => {
  logger.fatal({ err: error }, "gateway failed to start");
  process.exit(1);
});

let stopping = false;
const stop = (how: "drain" | "close") => {
  if (stopping) return;
  stopping = true;
  const started = Date.now();
  gateway[how]().then(
    () => {
      logger.info({ ms: Date.now() - started }, "gateway stopped");
      process.exit(0);
    },
    (error: unknown) => {
      logger.error({ err: error }, "gateway stop failed");
      process.exit(1);
    },
  );
};
process.on("SIGTERM", () => stop("drain"));
process.on("SIGINT", () => stop("close"));
// A bug in a handler must not take every socket of the node down with it; it is logged loudly
// and counted so it gets fixed.
process.on("unhandledRejection", (reason) => logger.error({ err: reason }, "unhandled rejection"));
process.on("uncaughtException", (error) => logger.error({ err: error }, "uncaught exception"));
