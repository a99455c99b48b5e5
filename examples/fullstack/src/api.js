// Calls to the FastAPI app, with the credential each deployment shape allows.
import { authClient } from "./auth.js";

// Empty: the API is on this page's origin (under /api), so the browser sends authkeep's session
// cookie with every request. Set: the API is on another site, where that cookie does not go.
const API_URL = import.meta.env.VITE_API_URL || "";

/** What the API does with the request, for the profile page. */
export const apiCheck = API_URL ? "verifies a JWT from authkeep with authkeep's public keys" : "checks the session cookie with authkeep";

/** GET /api/me (cookie) or /api/me/jwt (JWT): `{ status, body }`, never throws on 401. */
export async function fetchMe() {
  if (!API_URL) {
    const res = await fetch("/api/me", { credentials: "same-origin" });
    return { status: res.status, body: await res.json().catch(() => null) };
  }
  // Another site: ask authkeep for a JWT (15 minutes by default) and send it as a bearer token.
  // The API verifies it with authkeep's public keys, without calling authkeep per request.
  const { data, error } = await authClient.token();
  if (error) return { status: error.status, body: { detail: error.message ?? error.statusText } };
  const res = await fetch(`${API_URL}/api/me/jwt`, { headers: { authorization: `Bearer ${data.token}` } });
  return { status: res.status, body: await res.json().catch(() => null) };
}
