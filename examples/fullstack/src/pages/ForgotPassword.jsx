import { useState } from "react";
import { authClient, here } from "../auth.js";
import { Link } from "../router.jsx";

export function ForgotPassword() {
  const [sent, setSent] = useState(false);
  const [error, setError] = useState(null);

  async function onSubmit(e) {
    e.preventDefault();
    const email = new FormData(e.currentTarget).get("email");
    // authkeep mails a link to its /reset-password/<token>, which redirects to `redirectTo`.
    const { error } = await authClient.requestPasswordReset({ email, redirectTo: here("/reset-password") });
    if (error) setError(error.message ?? error.statusText);
    else setSent(true);
  }

  return (
    <section className="card">
      <h1>Reset your password</h1>
      {sent ? (
        <p className="notice" role="status">If an account uses that address, we sent it a link. Check your inbox.</p>
      ) : (
        <form onSubmit={onSubmit}>
          <label>Email <input name="email" type="email" autoComplete="email" required /></label>
          {error && <p className="error" role="alert">{error}</p>}
          <button type="submit">Send the link</button>
        </form>
      )}
      <p><Link to="/sign-in">Back to sign in</Link></p>
    </section>
  );
}
