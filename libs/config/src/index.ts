export { loadConfig, CONFIG_FILE_ENV } from "./load.ts";
export type { LoadOptions, LoadResult } from "./load.ts";
export { describeConfig, describeConfigMarkdown } from "./describe.ts";
export type { OptionDescription } from "./describe.ts";
export { JWT_ALGORITHMS, LOG_LEVELS, TOKEN_ENDPOINT_MODES } from "./options.ts";
export type { Config, JwtAlgorithm, LogLevel, OptionKey, TokenEndpointMode } from "./options.ts";
