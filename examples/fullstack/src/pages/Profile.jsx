import { useState } from "react";
import { authClient, here } from "../auth.js";
import { apiCheck, fetchMe } from "../api.js";
import { Sessions } from "./Sessions.jsx";

export function Profile({ session }) {
  const { user } = session;

  return (
    <>
      <section className="card">
        <h1>Hello, {user.name}</h1>
        <dl>
          <dt>Email</dt>
          <dd>
            {user.email} <span className={user.emailVerified ? "badge ok" : "badge"}>{user.emailVerified ? "verified" : "not verified"}</span>
          </dd>
          <dt>Member since</dt>
          <dd>{new Date(user.createdAt).toLocaleDateString()}</dd>
        </dl>
        {!user.emailVerified && <ResendVerification email={user.email} />}
        <button type="button" className="secondary" onClick={() => authClient.signOut()}>Sign out</button>
      </section>
      <ApiCall />
      <Sessions current={session.session} />
    </>
  );
}

function ResendVerification({ email }) {
  const [sent, setSent] = useState(false);
  async function resend() {
    const { error } = await authClient.sendVerificationEmail({ email, callbackURL: here("/email-verified") });
    if (!error) setSent(true);
  }
  return sent ? <p className="notice">We sent you a new verification link.</p> : <button type="button" className="link" onClick={resend}>Send the verification email again</button>;
}

/** authkeep_fastapi answers 401 with `detail: { message, code, reason }`. */
function describeRefusal(body) {
  const detail = body?.detail;
  if (!detail) return "the API refused the request";
  return typeof detail === "string" ? detail : `${detail.message}${detail.reason ? ` (${detail.reason})` : ""}`;
}

/** The FastAPI app's /api/me: it trusts authkeep's session (or JWT) and answers who you are. */
function ApiCall() {
  const [result, setResult] = useState(null);
  const [busy, setBusy] = useState(false);
  async function call() {
    setResult(null);
    setBusy(true);
    setResult(await fetchMe().catch((e) => ({ status: "network error", body: { detail: String(e) } })));
    setBusy(false);
  }
  return (
    <section className="card">
      <h2>Your API</h2>
      <p className="muted">The FastAPI app {apiCheck}.</p>
      <button type="button" onClick={call} disabled={busy}>Call the API</button>
      {result && (
        <p className={result.status === 200 ? "notice" : "error"} data-testid="api-result">
          {result.status === 200
            ? `200 OK: the API knows you as ${result.body.email} (${result.body.via}).`
            : `${result.status}: ${describeRefusal(result.body)}`}
        </p>
      )}
    </section>
  );
}
