// A minimal "browser without a browser" for the identity-provider stand-ins: a cookie jar and a
// redirect follower over Node's fetch. Cookies are kept per host name and shared across ports,
// as browsers do, which is enough for servers that all live on 127.0.0.1.

export class CookieJar {
  constructor() {
    this.cookies = new Map(); // host -> Map(name -> value)
  }

  header(url) {
    const m = this.cookies.get(new URL(url).hostname);
    return m && m.size ? [...m].map(([k, v]) => `${k}=${v}`).join("; ") : "";
  }

  store(url, response) {
    const host = new URL(url).hostname;
    const m = this.cookies.get(host) ?? new Map();
    this.cookies.set(host, m);
    for (const c of response.headers.getSetCookie()) {
      const pair = c.split(";")[0];
      const i = pair.indexOf("=");
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1);
      // An expired cookie (Max-Age=0 or a past Expires) is a deletion.
      const expired = /;\s*max-age=0/i.test(c) || /;\s*expires=([^;]+)/i.test(c) && Date.parse(/;\s*expires=([^;]+)/i.exec(c)[1]) < Date.now();
      if (expired || value === "") m.delete(name);
      else m.set(name, value);
    }
  }

  /** One request with this jar's cookies, never following redirects. */
  async fetch(url, init = {}) {
    const headers = new Headers(init.headers);
    const cookie = this.header(url);
    if (cookie) headers.set("cookie", cookie);
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    this.store(url, res);
    return res;
  }
}

/**
 * Follows redirects from `url` with `jar` until `stop(nextUrl)` is true (the final URL is
 * returned without being requested) or a non-redirect answer comes (that response is returned).
 */
export async function follow(jar, url, { stop, init, maxHops = 20 } = {}) {
  let current = url;
  let first = init;
  for (let hop = 0; hop < maxHops; hop++) {
    if (stop?.(current)) return { url: current };
    const res = await jar.fetch(current, first);
    first = undefined;
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      current = new URL(location, current).toString();
      await res.arrayBuffer();
      continue;
    }
    return { url: current, response: res };
  }
  throw new Error(`more than ${maxHops} redirects from ${url}`);
}

export function formBody(fields) {
  return { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields).toString() };
}

/** Reads an application/x-www-form-urlencoded or JSON request body of a node:http request. */
export async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString("utf8");
  const type = req.headers["content-type"] ?? "";
  if (type.includes("application/json")) {
    try { return JSON.parse(text || "{}"); } catch { return {}; }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** Listens on a free loopback port; resolves to the port. */
export function listen(server) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server.address().port));
  });
}

export function close(server) {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}
