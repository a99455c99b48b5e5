import { useEffect } from "react";
import { useSession } from "./auth.js";
import { Link, navigate, useLocation } from "./router.jsx";
import { SignIn } from "./pages/SignIn.jsx";
import { SignUp } from "./pages/SignUp.jsx";
import { Profile } from "./pages/Profile.jsx";
import { ForgotPassword } from "./pages/ForgotPassword.jsx";
import { ResetPassword } from "./pages/ResetPassword.jsx";

// Pages anyone can see; everything else needs a session.
const PUBLIC = {
  "/sign-in": SignIn,
  "/sign-up": SignUp,
  "/forgot-password": ForgotPassword,
  "/reset-password": ResetPassword,
};

export function App() {
  const location = useLocation();
  const { data: session, isPending } = useSession();
  const Page = PUBLIC[location.pathname];

  // Signed in on a sign-in page, or signed out on a private one: go where the user belongs.
  const target = isPending ? null : session ? (Page && location.pathname !== "/reset-password" ? "/profile" : null) : Page ? null : "/sign-in";
  useEffect(() => {
    if (target && target !== location.pathname) navigate(target + (target === "/profile" ? location.search : ""));
  }, [target, location]);

  return (
    <>
      <header>
        <Link to="/" className="brand">Acme</Link>
        <span className="muted">{session ? session.user.email : "not signed in"}</span>
      </header>
      <main>
        {isPending || target ? <p className="muted">Loading…</p> : Page ? <Page /> : <Profile session={session} />}
      </main>
    </>
  );
}
