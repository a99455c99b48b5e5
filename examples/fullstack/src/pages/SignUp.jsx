import { useState } from "react";
import { authClient, here } from "../auth.js";
import { Link } from "../router.jsx";

export function SignUp() {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(e) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    const { error } = await authClient.signUp.email({
      name: form.get("name"),
      email: form.get("email"),
      password: form.get("password"),
      // Where the link in the verification email lands once authkeep has checked it.
      callbackURL: here("/email-verified"),
    });
    setBusy(false);
    if (error) setError(error.message ?? error.statusText);
  }

  return (
    <section className="card">
      <h1>Create an account</h1>
      <form onSubmit={onSubmit}>
        <label>Name <input name="name" autoComplete="name" required /></label>
        <label>Email <input name="email" type="email" autoComplete="email" required /></label>
        <label>Password <input name="password" type="password" autoComplete="new-password" minLength={8} required /></label>
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>Sign up</button>
      </form>
      <p>Already have an account? <Link to="/sign-in">Sign in</Link></p>
    </section>
  );
}
