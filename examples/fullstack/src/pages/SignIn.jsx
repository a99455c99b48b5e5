import { useState } from "react";
import { authClient, here, socialProviders } from "../auth.js";
import { Link, useLocation } from "../router.jsx";

export function SignIn() {
  const { searchParams } = useLocation();
  const [error, setError] = useState(searchParams.get("error") ? `Sign-in failed: ${searchParams.get("error")}` : null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    // On success the session atom updates and App moves on to the profile.
    const { error } = await authClient.signIn.email({ email: form.get("email"), password: form.get("password") });
    setBusy(false);
    if (error) setError(error.message ?? error.statusText);
  }

  async function social(provider) {
    // The client sends the browser to the provider; it comes back through authkeep's callback,
    // then to callbackURL (or errorCallbackURL with ?error=…).
    const { error } = await authClient.signIn.social({ provider, callbackURL: here("/profile"), errorCallbackURL: here("/sign-in") });
    if (error) setError(error.message ?? error.statusText);
  }

  return (
    <section className="card">
      <h1>Sign in</h1>
      {searchParams.get("reset") && <p className="notice" role="status">Your password was changed. Sign in with the new one.</p>}
      <form onSubmit={onSubmit}>
        <label>Email <input name="email" type="email" autoComplete="email" required /></label>
        <label>Password <input name="password" type="password" autoComplete="current-password" required /></label>
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>Sign in</button>
      </form>
      {socialProviders.map((p) => (
        <button key={p.id} type="button" className="secondary" onClick={() => social(p.id)}>Sign in with {p.label}</button>
      ))}
      <p><Link to="/forgot-password">Forgot your password?</Link> · <Link to="/sign-up">Create an account</Link></p>
    </section>
  );
}
