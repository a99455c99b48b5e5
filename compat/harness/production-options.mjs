// better-auth options for production features, read from environment variables, for
// better-auth-server.mjs: rate limiting, the session cookie cache, cookie attributes, client-IP
// resolution and Redis as secondary storage (@better-auth/redis-storage). Every variable is
// optional; with none set the options are exactly the harness's old ones (rate limiting off, no
// cookie cache, no secondary storage). The variables are listed in better-auth-server.mjs.
import { Redis } from "ioredis";
import { redisStorage } from "@better-auth/redis-storage";

const list = (v) => (v ?? "").split(",").map((s) => s.trim()).filter(Boolean);
const bool = (v) => v === "1" || v === "true";
const num = (v) => (v === undefined || v === "" ? undefined : Number(v));
const json = (name, v) => {
  if (v === undefined || v === "") return undefined;
  try { return JSON.parse(v); } catch (e) { throw new Error(`${name} is not JSON: ${e.message}`); }
};
/** Drops undefined values so better-auth's own defaults apply. */
const defined = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

export function productionOptions(env = process.env) {
  // Rate limiting. RATE_LIMIT_ENABLED unset keeps the harness's old `enabled: false`;
  // "default" leaves `enabled` out, so better-auth decides (on iff NODE_ENV=production).
  const enabled = env.RATE_LIMIT_ENABLED;
  const rateLimit = defined({
    enabled: enabled === undefined ? false : enabled === "default" ? undefined : bool(enabled),
    window: num(env.RATE_LIMIT_WINDOW),
    max: num(env.RATE_LIMIT_MAX),
    storage: env.RATE_LIMIT_STORAGE || undefined, // memory | database | secondary-storage
    customRules: json("RATE_LIMIT_CUSTOM_RULES", env.RATE_LIMIT_CUSTOM_RULES), // {"/path": {window,max} | false}
  });

  const session = defined({
    expiresIn: num(env.SESSION_EXPIRES_IN),
    updateAge: num(env.SESSION_UPDATE_AGE),
    freshAge: num(env.SESSION_FRESH_AGE),
    storeSessionInDatabase: env.STORE_SESSION_IN_DATABASE === undefined ? undefined : bool(env.STORE_SESSION_IN_DATABASE),
    cookieCache: env.COOKIE_CACHE_ENABLED === undefined && env.COOKIE_CACHE_STRATEGY === undefined && env.COOKIE_CACHE_MAX_AGE === undefined
      ? undefined
      : defined({
          enabled: env.COOKIE_CACHE_ENABLED === undefined ? true : bool(env.COOKIE_CACHE_ENABLED),
          maxAge: num(env.COOKIE_CACHE_MAX_AGE),
          strategy: env.COOKIE_CACHE_STRATEGY || undefined, // compact (default) | jwt | jwe
          version: env.COOKIE_CACHE_VERSION || undefined,
        }),
  });

  const ipAddress = defined({
    ipAddressHeaders: env.IP_ADDRESS_HEADERS ? list(env.IP_ADDRESS_HEADERS) : undefined,
    trustedProxies: env.TRUSTED_PROXIES ? list(env.TRUSTED_PROXIES) : undefined,
    disableIpTracking: env.DISABLE_IP_TRACKING === undefined ? undefined : bool(env.DISABLE_IP_TRACKING),
    ipv6Subnet: num(env.IPV6_SUBNET),
  });
  const advanced = defined({
    defaultCookieAttributes: json("DEFAULT_COOKIE_ATTRIBUTES", env.DEFAULT_COOKIE_ATTRIBUTES),
    crossSubDomainCookies: json("CROSS_SUBDOMAIN_COOKIES", env.CROSS_SUBDOMAIN_COOKIES),
    useSecureCookies: env.USE_SECURE_COOKIES === undefined ? undefined : bool(env.USE_SECURE_COOKIES),
    ipAddress: Object.keys(ipAddress).length ? ipAddress : undefined,
  });

  let redis = null;
  let secondaryStorage;
  if (env.REDIS_URL) {
    // A plain ioredis client as an application would make one. REDIS_MAX_RETRIES sets
    // maxRetriesPerRequest (ioredis's default is 20, which makes a dead Redis slow to fail).
    redis = new Redis(env.REDIS_URL, defined({ maxRetriesPerRequest: num(env.REDIS_MAX_RETRIES), lazyConnect: false }));
    redis.on("error", (e) => console.error(`redis error: ${e.message}`));
    secondaryStorage = redisStorage({ client: redis, keyPrefix: env.REDIS_KEY_PREFIX ?? "better-auth:" });
  }
  const verification = env.VERIFICATION_STORE_IN_DATABASE === undefined ? {} : { storeInDatabase: bool(env.VERIFICATION_STORE_IN_DATABASE) };

  return { rateLimit, session, advanced, secondaryStorage, verification, redis };
}
