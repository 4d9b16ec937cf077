import { stockClientSuite } from "./stock-client.ts";
import type { PhoenixModule } from "./stock-client.ts";

// phoenix 1.8's LongPoll uses fetch when there is no XMLHttpRequest, as in Node.
const phoenix = (await import("phoenix")) as unknown as PhoenixModule;
stockClientSuite("phoenix 1.8", phoenix, true);
