"""Per-request cost of each authkeep_fastapi mode inside a FastAPI app.

Each request goes through the whole ASGI app in-process (httpx.ASGITransport), so the figures
are FastAPI's own routing plus the authentication dependency, without socket noise. The
overhead of a mode is its latency minus that of the same route without authentication.

    python bench/fastapi_overhead.py --auth-url http://127.0.0.1:3100 --database-url postgresql://... --secret ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import httpx
from fastapi import Depends, FastAPI

from authkeep_fastapi import AuthKeep, User


def app_for(auth: AuthKeep | None) -> FastAPI:
    app = FastAPI()
    if auth is None:
        @app.get("/r")
        async def open_route():
            return {"ok": True}
    else:
        @app.get("/r")
        async def protected(user: User = Depends(auth.current_user)):
            return {"ok": True, "id": user.id}
    return app


async def measure(app: FastAPI, headers: dict[str, str], n: int) -> dict[str, float]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        for _ in range(200):
            r = await client.get("/r", headers=headers)
            assert r.status_code == 200, r.text
        samples = []
        for _ in range(n):
            t = time.perf_counter()
            await client.get("/r", headers=headers)
            samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 4), "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 4)}


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--auth-url", required=True)
    p.add_argument("--database-url", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("-n", type=int, default=3000)
    a = p.parse_args()
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{a.auth_url}/api/auth/sign-up/email", json={"name": "Bench", "email": f"fastapi-{time.time_ns()}@example.com", "password": "password1234"})
        cookie = r.headers["set-cookie"].split(";")[0]
        token = r.headers["set-auth-token"]
        jwt = (await http.get(f"{a.auth_url}/api/auth/token", headers={"cookie": cookie})).json()["token"]
    modes = {
        "none": (None, {}),
        "jwt": (AuthKeep(base_url=a.auth_url), {"authorization": f"Bearer {jwt}"}),
        "database": (AuthKeep(base_url=a.auth_url, mode="database", database_url=a.database_url, secret=a.secret), {"authorization": f"Bearer {token}"}),
        "remote (cache on, default 5 s)": (AuthKeep(base_url=a.auth_url, mode="remote"), {"cookie": cookie}),
        "remote (cache off)": (AuthKeep(base_url=a.auth_url, mode="remote", remote_cache_ttl=0), {"cookie": cookie}),
    }
    results = {}
    for name, (auth, headers) in modes.items():
        results[name] = await measure(app_for(auth), headers, a.n)
        if auth:
            await auth.aclose()
    base = results["none"]["p50_ms"]
    for name, r in results.items():
        r["overhead_p50_ms"] = round(r["p50_ms"] - base, 4)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
