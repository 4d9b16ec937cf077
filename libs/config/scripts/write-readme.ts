// Regenerates the option table in libs/config/README.md from the option table in code:
//   node --import tsx libs/config/scripts/write-readme.ts
import { readFileSync, writeFileSync } from "node:fs";
import { describeConfigMarkdown } from "@switchboard/config";
import { README_PATH, replaceGeneratedTable } from "./readme-table.ts";

writeFileSync(README_PATH, replaceGeneratedTable(readFileSync(README_PATH, "utf8"), describeConfigMarkdown()));
