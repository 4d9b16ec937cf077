// Client libraries the suites drive without type declarations of their own; the suites type the
// small part they use (test/clients/scenario.ts).
declare module "phoenix";
declare module "phoenix17";
declare module "xhr2";
