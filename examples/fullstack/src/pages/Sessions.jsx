import { useEffect, useState } from "react";
import { authClient } from "../auth.js";

/** Where you are signed in, and a way to sign out a device from here. */
export function Sessions({ current }) {
  const [sessions, setSessions] = useState(null);

  async function load() {
    const { data } = await authClient.listSessions();
    setSessions(data ?? []);
  }
  useEffect(() => { load(); }, []);

  async function revoke(token) {
    await authClient.revokeSession({ token });
    load();
  }

  return (
    <section className="card">
      <h2>Your sessions</h2>
      <button type="button" className="link" onClick={load}>Refresh</button>
      <ul className="sessions">
        {(sessions ?? []).map((s) => (
          <li key={s.id} data-current={s.id === current.id}>
            <span>
              {describe(s.userAgent)} · since {new Date(s.createdAt).toLocaleTimeString()}
              {s.id === current.id && <strong> (this browser)</strong>}
            </span>
            {s.id !== current.id && <button type="button" className="secondary" onClick={() => revoke(s.token)}>Revoke</button>}
          </li>
        ))}
      </ul>
    </section>
  );
}

function describe(userAgent = "") {
  const browser = /(Firefox|Edg|Chrome|Safari)\/[\d.]+/.exec(userAgent ?? "")?.[1] ?? "A browser";
  return browser === "Edg" ? "Edge" : browser;
}
