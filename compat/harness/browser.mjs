// A "browser" for better-auth's real client in Node: it keeps cookies, sends an Origin like a
// browser does, and records every exchange so two servers' answers can be compared.
import { createAuthClient } from "better-auth/client";
import { emailOTPClient, jwtClient, magicLinkClient } from "better-auth/client/plugins";

const RECORDED_HEADERS = ["content-type", "cache-control", "pragma", "location", "set-auth-token", "set-auth-jwt"];

export class Browser {
  constructor(server, { origin } = {}) {
    this.server = server;
    this.origin = origin === undefined ? server.origin : origin;
    this.jar = new Map();
    this.transcript = [];
    this.client = createAuthClient({
      baseURL: server.baseURL,
      plugins: [jwtClient(), magicLinkClient(), emailOTPClient()],
      fetchOptions: { customFetchImpl: (url, init) => this.fetch(url, init) },
    });
  }

  cookieHeader() {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  async fetch(input, init = {}) {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init.headers);
    if (this.origin) headers.set("origin", this.origin);
    const cookie = this.cookieHeader();
    if (cookie) headers.set("cookie", cookie);
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    const setCookies = res.headers.getSetCookie();
    for (const c of setCookies) {
      const pair = c.split(";")[0];
      const i = pair.indexOf("=");
      const [name, value] = [pair.slice(0, i), pair.slice(i + 1)];
      if (/;\s*Max-Age=0/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const text = await res.clone().text();
    let body;
    try { body = text === "" ? "" : JSON.parse(text); } catch { body = text; }
    this.transcript.push({
      request: `${init.method ?? "GET"} ${url.pathname.replace(/^\/api\/auth/, "")}${url.search}`,
      status: res.status,
      body,
      headers: Object.fromEntries(RECORDED_HEADERS.filter((h) => res.headers.has(h)).map((h) => [h, res.headers.get(h)])),
      setCookies,
    });
    return res;
  }

  /** A raw call through the client (for paths and methods the typed API has no method for). */
  raw(path, options = {}) {
    return this.client.$fetch(path, options);
  }
}

const ID = /^[A-Za-z0-9]{32}$/;
const JWT = /^eyJ[\w-]*\.eyJ[\w-]*\.[\w-]+$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Masks what legitimately differs between two runs: ids, tokens, times, signatures. */
export function normalize(value) {
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === "object") {
    if (value instanceof Date) return "<date>";
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  }
  if (typeof value === "string") {
    if (ID.test(value)) return "<id>";
    if (JWT.test(value)) return "<jwt>";
    if (ISO.test(value)) return "<date>";
  }
  return value;
}

export function normalizeCookie(c) {
  const [pair, ...attrs] = c.split(";");
  const i = pair.indexOf("=");
  const value = pair.slice(i + 1);
  return [`${pair.slice(0, i)}=${value === "" ? "" : "<value>"}`, ...attrs.map((a) => a.trim())].join("; ");
}

function normalizeHeaders(h) {
  const out = { ...h };
  if (out["set-auth-jwt"]) out["set-auth-jwt"] = /^[\w-]+\.[\w-]+\.[\w-]+$/.test(out["set-auth-jwt"]) ? "<jwt>" : out["set-auth-jwt"];
  if (out["set-auth-token"]) out["set-auth-token"] = /^[A-Za-z0-9]{32}\.[A-Za-z0-9+/]{43}=$/.test(out["set-auth-token"]) ? "<token>.<signature>" : out["set-auth-token"];
  return out;
}

/** Public key material differs by construction; authkeep adds Cache-Control to the JWKS on purpose. */
function normalizeJwks(e) {
  if (!e.request.startsWith("GET /jwks") || !Array.isArray(e.body?.keys)) return e;
  const { ["cache-control"]: _, ...headers } = e.headers;
  const keys = e.body.keys.map((k) => Object.fromEntries(Object.entries(k).map(([f, v]) => [f, ["x", "y", "n", "e"].includes(f) ? "<key>" : v])));
  return { ...e, headers, body: { keys } };
}

/** One-time tokens in URLs, and each server's own origin in redirects. */
function normalizeUrls(e) {
  const mask = (u) => u.replace(/https?:\/\/127\.0\.0\.1:\d+/g, "<origin>").replace(/token=[^&]+/g, "token=<token>").replace(/\/reset-password\/[A-Za-z0-9]+/, "/reset-password/<token>");
  const headers = e.headers.location ? { ...e.headers, location: mask(e.headers.location) } : e.headers;
  return { ...e, request: mask(e.request), headers };
}

export function normalizeTranscript(t) {
  return t.map((e) => normalizeUrls(normalizeJwks({ ...e, body: normalize(e.body), headers: normalizeHeaders(e.headers), setCookies: e.setCookies.map(normalizeCookie) })));
}
