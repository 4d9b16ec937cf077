// One implementation for the dev launcher and the suites.
export { freePort } from "../../tools/dev/net.ts";
