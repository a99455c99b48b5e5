import { Link, useLocation } from "../router.jsx";

// The link in the verification mail goes to authkeep, which marks the address verified and
// redirects here (its callbackURL), or here with ?error=INVALID_TOKEN or TOKEN_EXPIRED.
export function EmailVerified({ session }) {
  const error = useLocation().searchParams.get("error");
  return (
    <section className="card">
      <h1>Email verification</h1>
      {error ? (
        <p className="error" role="alert">This verification link is invalid or has expired ({error}).</p>
      ) : (
        <p className="notice" role="status">Thanks, your email address is verified.</p>
      )}
      <p><Link to={session ? "/profile" : "/sign-in"}>{session ? "Go to your profile" : "Sign in"}</Link></p>
    </section>
  );
}
