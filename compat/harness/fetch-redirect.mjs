// Sends requests for the real providers' hosts to the local stand-ins.
//
// better-auth's Google and GitHub providers have their endpoints written into the code
// (https://accounts.google.com/..., https://oauth2.googleapis.com/token,
// https://www.googleapis.com/oauth2/v3/certs, https://github.com/login/oauth/access_token,
// https://api.github.com/user[/emails]) and call them with the global `fetch` (through
// @better-fetch/fetch, which looks `globalThis.fetch` up on every call, and jose). So inside the
// better-auth server process, `installFetchRedirect(hosts)` wraps `globalThis.fetch`: a request
// whose host is a key of `hosts` goes to that origin instead, with the same path, query, method,
// headers and body. Nothing else is touched. (harness/better-auth-server.mjs does this from the
// `redirects` field of its SOCIAL variable.)
//
// The authorize URL that better-auth returns still names the real host, because the browser,
// not better-auth, follows it. HTTP-driven tests rewrite it with `rewriteUrl(url, hosts)` (the
// stand-ins' loginHttp/cancelHttp do that themselves). A Playwright test sends the browser on to
// the stand-in with a route that answers every request for those hosts with a redirect:
//
//   await page.route(/^https:\/\/(accounts\.google\.com|github\.com)\//, (route) =>
//     route.fulfill({ status: 302, headers: { location: rewriteUrl(route.request().url(), hosts) } }));
//
// (`browserRoute(page, hosts)` below does exactly that for every host in `hosts`.)

/** `url` with its origin replaced by the stand-in's when its host is one of `hosts`' keys. */
export function rewriteUrl(url, hosts) {
  const u = new URL(url);
  const target = hosts[u.hostname];
  if (!target) return u.toString();
  return `${target.replace(/\/$/, "")}${u.pathname}${u.search}`;
}

export function installFetchRedirect(hosts) {
  if (!hosts || Object.keys(hosts).length === 0) return;
  const original = globalThis.fetch;
  globalThis.fetch = function redirectedFetch(input, init) {
    const href = input instanceof Request ? input.url : String(input instanceof URL ? input.href : input);
    const target = rewriteUrl(href, hosts);
    if (target === new URL(href).toString()) return original(input, init);
    // A Request carries method, headers and body; rebuild it for the new URL.
    if (input instanceof Request) return original(new Request(target, input), init);
    return original(target, init);
  };
}

/** Playwright: answer every browser request for one of `hosts` with a 302 to the stand-in. */
export async function browserRoute(page, hosts) {
  const names = Object.keys(hosts).map((h) => h.replace(/\./g, "\\."));
  if (names.length === 0) return;
  await page.route(new RegExp(`^https://(${names.join("|")})/`), (route) =>
    route.fulfill({ status: 302, headers: { location: rewriteUrl(route.request().url(), hosts) } }));
}
