import XMLHttpRequest from "xhr2";
import { runClientScenario, type PhoenixModule } from "./scenario.ts";

// phoenix 1.7's LongPoll only knows XMLHttpRequest; xhr2 is a Node implementation of it.
Object.assign(globalThis, { XMLHttpRequest });
const phoenix = (await import("phoenix17")) as unknown as PhoenixModule;
runClientScenario("phoenix 1.7", phoenix);
