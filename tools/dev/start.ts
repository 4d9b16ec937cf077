// `npm start`: one gateway and the bridge on PORT (default 4000, HOST default 127.0.0.1), with a
// private redis-server when REDIS_URL is unset. Exits when either process dies.
import { integerFromEnv, runStack } from "./stack.ts";

await runStack({
  title: "start",
  gateways: 1,
  port: integerFromEnv("PORT", 4000, 1, 65535),
  proxy: false,
  watch: false,
  host: process.env.HOST,
});
