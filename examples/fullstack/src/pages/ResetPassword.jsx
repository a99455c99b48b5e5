import { useState } from "react";
import { authClient } from "../auth.js";
import { Link, navigate, useLocation } from "../router.jsx";

// The reset link lands here as /reset-password?token=… (or ?error=INVALID_TOKEN when it expired).
export function ResetPassword() {
  const { searchParams } = useLocation();
  const token = searchParams.get("token");
  const [error, setError] = useState(token ? null : "This reset link is invalid or has expired.");

  async function onSubmit(e) {
    e.preventDefault();
    const newPassword = new FormData(e.currentTarget).get("password");
    const { error } = await authClient.resetPassword({ newPassword, token });
    if (error) setError(error.message ?? error.statusText);
    else navigate("/sign-in?reset=1");
  }

  return (
    <section className="card">
      <h1>Choose a new password</h1>
      {token && (
        <form onSubmit={onSubmit}>
          <label>New password <input name="password" type="password" autoComplete="new-password" minLength={8} required /></label>
          <button type="submit">Change password</button>
        </form>
      )}
      {error && <p className="error" role="alert">{error}</p>}
      <p><Link to="/forgot-password">Send a new link</Link></p>
    </section>
  );
}
