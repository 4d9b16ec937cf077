import * as phoenix from "phoenix";
import { runClientScenario, type PhoenixModule } from "./scenario.ts";

// phoenix 1.8 long-polls with fetch when there is no XMLHttpRequest, as in Node.
runClientScenario("phoenix 1.8", phoenix as unknown as PhoenixModule);
