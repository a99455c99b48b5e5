// The one better-auth client of the app. Every page imports `authClient` (or `useSession`).
import { createAuthClient } from "better-auth/react";
import { jwtClient } from "better-auth/client/plugins";

// Same site (recommended): authkeep answers at this page's own origin under /api/auth, through
// Vite's proxy in development and your reverse proxy in production. Frontend on another site:
// build with VITE_AUTH_URL=https://auth.example.com (see the README).
const AUTH_URL = import.meta.env.VITE_AUTH_URL || window.location.origin;

export const authClient = createAuthClient({
  baseURL: AUTH_URL,
  // authClient.token(): a short-lived JWT for an API on another site.
  plugins: [jwtClient()],
});

export const { useSession } = authClient;

/** Absolute URLs for callbacks: authkeep redirects the browser to them, and on another site a
 *  relative one would resolve against authkeep's origin instead of this app's. */
export const here = (path) => new URL(path, window.location.origin).href;

/** "google=Google,github=GitHub" -> [{ id, label }]: the providers configured in authkeep. */
export const socialProviders = (import.meta.env.VITE_SOCIAL_PROVIDERS || "")
  .split(",")
  .filter(Boolean)
  .map((entry) => {
    const [id, label] = entry.split("=");
    return { id, label: label || id };
  });
