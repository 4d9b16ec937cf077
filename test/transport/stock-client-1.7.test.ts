import XMLHttpRequest from "xhr2";
import { stockClientSuite } from "./stock-client.ts";
import type { PhoenixModule } from "./stock-client.ts";

// phoenix 1.7's LongPoll only knows XMLHttpRequest (xhr2 is a Node implementation of it), and finds
// it on `self` or `window` (its fallback to `global` is a self-reference, undefined in Node).
// 1.7 has no authToken option.
Object.assign(globalThis, { XMLHttpRequest, self: globalThis });
const phoenix = (await import("phoenix17")) as unknown as PhoenixModule;
stockClientSuite("phoenix 1.7", phoenix, false);
