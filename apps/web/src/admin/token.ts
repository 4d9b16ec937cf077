/// <reference lib="dom" />

const TOKEN_KEY = "switchboard:admin-token";
// Who the dashboard says it is in the token's `id` claim (the presence key if it ever tracks).
const DASHBOARD_ID = "dashboard";

/** Mints an admin token with `POST /token`; the admin secret is required unless the gateway's mode allows without. */
export async function mintAdminToken(adminSecret: string): Promise<string> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (adminSecret) headers.authorization = `Bearer ${adminSecret}`;
  const response = await fetch("/token", { method: "POST", headers, body: JSON.stringify({ channel: "admin", id: DASHBOARD_ID }) });
  const body: unknown = await response.json().catch(() => undefined);
  if (response.ok && typeof body === "object" && body !== null && "token" in body && typeof body.token === "string") return body.token;
  throw new Error(errorMessage(body) ?? `POST /token answered ${response.status}`);
}

function errorMessage(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null || !("error" in body)) return undefined;
  const error = body.error;
  if (typeof error !== "object" || error === null) return undefined;
  const code = "code" in error ? String(error.code) : "error";
  const message = "message" in error ? String(error.message) : "";
  return `${code}: ${message}`;
}

// The tab's session only: a token that can read the whole cluster must not outlive the tab.
export const savedToken = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};
