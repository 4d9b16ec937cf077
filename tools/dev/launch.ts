// `npm run dev` / `turbo run dev`: a private Redis, three gateway nodes restarted on source changes,
// the bridge, and a round-robin proxy on PORT (default 4000) so a browser exercises the multi-node
// path. NODES changes the number of gateways.
import { integerFromEnv, runStack } from "./stack.ts";

const DEV_GATEWAYS = 3;
/** Each node is a full tsx process; more than this only slows a laptop down. */
const MAX_DEV_GATEWAYS = 16;

await runStack({
  title: "dev",
  gateways: integerFromEnv("NODES", DEV_GATEWAYS, 1, MAX_DEV_GATEWAYS),
  port: integerFromEnv("PORT", 4000, 1, 65535),
  proxy: true,
  watch: true,
});
