import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import type { BrowserContext, Page } from "playwright-core";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Where the suites leave screenshots (git-ignored); the README's copies live in docs/screenshots. */
export const OUTPUT_DIR = join(root, "test/output");
export const WEB_DIST = join(root, "apps/web/dist");

// Debian's chromium: browser downloads are not possible here, and CI has the same package.
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
// Every wait in the suites is bounded by this unless it says otherwise.
const ACTION_TIMEOUT_MS = 10_000;

/** Bundles apps/web the way `npm run build -w apps/web` does, so the suite tests what ships. */
export function buildWeb(): void {
  execFileSync(process.execPath, [join(root, "apps/web/build.mjs")], { cwd: root, stdio: "inherit", timeout: 60_000 });
}

export interface Browser {
  /** A new tab; everything it logs as an error (console, uncaught, failed request) is collected. */
  page(name: string): Promise<Page>;
  /** `name: message` for every error any tab produced so far. */
  errors(): string[];
  screenshot(page: Page, file: string): Promise<void>;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile; tabs share it as a user's tabs do. */
export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "switchboard-chromium-"));
  mkdirSync(OUTPUT_DIR, { recursive: true });
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 800 },
      timeout: 30_000,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  const errors: string[] = [];
  return {
    async page(name) {
      const page = await context.newPage();
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(`${name}: console: ${message.text()}`);
      });
      page.on("pageerror", (error) => errors.push(`${name}: uncaught: ${error.message}`));
      page.on("requestfailed", (request) => {
        // Closing a tab aborts its pending long-poll; that is the tab going away, not a failure.
        if (!page.isClosed() && request.failure()?.errorText !== "net::ERR_ABORTED") {
          errors.push(`${name}: request failed: ${request.url()} ${request.failure()?.errorText ?? ""}`);
        }
      });
      return page;
    },
    errors: () => [...errors],
    async screenshot(page, file) {
      await page.screenshot({ path: join(OUTPUT_DIR, file), fullPage: true });
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
