import XMLHttpRequest from "xhr2";
import { runClientScenario, type PhoenixModule } from "./scenario.ts";

// phoenix 1.7 finds its globals as `self || window || global`, where `global` is its own
// uninitialised variable: in Node only `self` works. Its LongPoll only knows XMLHttpRequest;
// xhr2 is a Node implementation of it.
Object.assign(globalThis, { self: globalThis, XMLHttpRequest });
const phoenix = (await import("phoenix17")) as PhoenixModule;
runClientScenario("phoenix 1.7", phoenix);
