import { useEffect } from "react";
import { useSession } from "./auth.js";
import { Link, navigate, useLocation } from "./router.jsx";
import { SignIn } from "./pages/SignIn.jsx";
import { SignUp } from "./pages/SignUp.jsx";
import { Profile } from "./pages/Profile.jsx";
import { ForgotPassword } from "./pages/ForgotPassword.jsx";
import { ResetPassword } from "./pages/ResetPassword.jsx";
import { EmailVerified } from "./pages/EmailVerified.jsx";

// Pages for signed-out visitors (a session sends you on to the profile)...
const SIGNED_OUT = { "/sign-in": SignIn, "/sign-up": SignUp, "/forgot-password": ForgotPassword };
// ...pages that mailed links land on, with or without a session...
const ANYONE = { "/reset-password": ResetPassword, "/email-verified": EmailVerified };
// ...and everything else needs a session: the profile.

/** Where the visitor belongs instead of `path`, or null to stay. */
function redirect(path, session) {
  if (session && SIGNED_OUT[path]) return "/profile";
  if (!session && !SIGNED_OUT[path] && !ANYONE[path]) return "/sign-in";
  return null;
}

export function App() {
  const location = useLocation();
  const { data: session, isPending } = useSession();
  const target = isPending ? null : redirect(location.pathname, session);
  useEffect(() => {
    if (target) navigate(target);
  }, [target]);

  const Page = SIGNED_OUT[location.pathname] ?? ANYONE[location.pathname];
  return (
    <>
      <header>
        <Link to="/" className="brand">Acme</Link>
        <span className="muted">{session ? session.user.email : "not signed in"}</span>
      </header>
      <main>
        {isPending || target ? <p className="muted">Loading…</p> : Page ? <Page session={session} /> : <Profile session={session} />}
      </main>
    </>
  );
}
