//! `authkeep user …` and `authkeep session …` run as the real binary against the database of a
//! running server: what they change is what the server answers over HTTP next.

use std::io::Write;
use std::process::{Output, Stdio};

use serde_json::{Value, json};

use crate::helpers::{Client, Db, PASSWORD, TestApp};
use crate::on_both_databases;

/// Runs `authkeep <args> --database-url <the app's>` with `stdin` on its standard input.
async fn authkeep(app: &TestApp, args: &[&str], stdin: Option<&str>) -> Output {
    authkeep_with(app, args, stdin, &[]).await
}

async fn authkeep_with(
    app: &TestApp,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = crate::cli::authkeep(dir.path());
    cmd.envs(env.iter().copied())
        .args(args)
        .args(["--database-url", &app.db_url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdin = stdin.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().expect("spawn authkeep");
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        drop(dir);
        out
    })
    .await
    .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Succeeds, or fails the test with what the command said.
fn ok(out: &Output) -> String {
    let (stdout, stderr) = text(out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    stdout
}

fn json_of(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).expect("JSON on stdout")
}

async fn signed_in(app: &TestApp, email: &str, password: &str) -> Client {
    let mut c = app.client();
    let r = c.sign_in(email, password).await;
    assert_eq!(r.status, 200, "{}", r.text);
    c
}

async fn session_of(c: &mut Client) -> Value {
    let r = c.get("/get-session").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

on_both_databases! {
    async fn a_user_created_by_the_cli_signs_in_and_shows_up(db: Db) {
        let app = TestApp::spawn(db).await;
        let secret = "stdin-only-password-8361";
        let out = authkeep(
            &app,
            &["user", "create", "--email", "Ada@Example.com", "--name", "Ada", "--password-stdin", "--verified"],
            Some(&format!("{secret}\n")),
        )
        .await;
        let stdout = ok(&out);
        let (_, stderr) = text(&out);
        assert!(stdout.contains("created user"), "{stdout}");
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "the password is never printed");
        let mut c = signed_in(&app, "ada@example.com", secret).await;
        let s = session_of(&mut c).await;
        assert_eq!(s["user"]["email"], "ada@example.com");
        assert_eq!(s["user"]["emailVerified"], true);
        assert_eq!(s["user"]["name"], "Ada");

        // A taken address and a short password are refused with the reason, writing nothing.
        let out = authkeep(
            &app,
            &["user", "create", "--email", "ada@example.com", "--name", "Again", "--password", PASSWORD],
            None,
        )
        .await;
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out).1.contains("User already exists"), "{}", text(&out).1);
        let out = authkeep(
            &app,
            &["user", "create", "--email", "bo@example.com", "--name", "Bo", "--password", "short"],
            None,
        )
        .await;
        assert_eq!(out.status.code(), Some(1));
        let (_, stderr) = text(&out);
        assert!(stderr.contains("PASSWORD_TOO_SHORT") && stderr.contains("minimum is 8"), "{stderr}");
        assert!(!stderr.contains("short\n"), "{stderr}");
        assert_eq!(app.count("user").await, 1);

        // list and show, as JSON, match what the server says about the user.
        app.client().sign_up("bo@example.com").await;
        let page = json_of(&authkeep(&app, &["user", "list", "--json", "--limit", "1"], None).await);
        assert_eq!(page["total"], 2);
        assert_eq!(page["limit"], 1);
        let users = page["users"].as_array().unwrap();
        assert_eq!(users.len(), 1, "one page: {page}");
        assert_eq!(users[0], s["user"], "oldest first, as get-session shows it");
        let next = json_of(&authkeep(&app, &["user", "list", "--json", "--offset", "1"], None).await);
        assert_eq!(next["users"][0]["email"], "bo@example.com");
        let shown = json_of(&authkeep(&app, &["user", "show", "--email", "ada@example.com", "--json"], None).await);
        assert_eq!(shown["user"], s["user"]);
        assert_eq!(shown["activeSessions"], 1);
        assert_eq!(shown["accounts"][0]["providerId"], "credential");
        assert!(shown["accounts"][0].get("password").is_none());
        let by_id = json_of(
            &authkeep(&app, &["user", "show", "--id", s["user"]["id"].as_str().unwrap(), "--json"], None).await,
        );
        assert_eq!(by_id["user"]["email"], "ada@example.com");
        let plain = ok(&authkeep(&app, &["user", "list"], None).await);
        assert!(plain.contains("ada@example.com") && plain.contains("users 1-2 of 2"), "{plain}");

        let out = authkeep(&app, &["user", "show", "--email", "nobody@example.com"], None).await;
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out).1.contains("no user has the email nobody@example.com"), "{}", text(&out).1);
        app.stop().await;
    }

    async fn set_password_replaces_the_old_one_and_can_end_sessions(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        c.sign_up("pat@example.com").await;
        let new = "a-brand-new-password-42";
        let out = authkeep(
            &app,
            &["user", "set-password", "--email", "pat@example.com", "--password-stdin"],
            Some(&format!("{new}\r\n")),
        )
        .await;
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}{stderr}");
        assert!(!stdout.contains(new) && !stderr.contains(new));
        assert_eq!(app.client().sign_in("pat@example.com", PASSWORD).await.status, 401);
        signed_in(&app, "pat@example.com", new).await;
        assert!(!session_of(&mut c).await.is_null(), "sessions are kept by default");

        let out = authkeep(
            &app,
            &["user", "set-password", "--email", "pat@example.com", "--password", "tiny"],
            None,
        )
        .await;
        assert_eq!(out.status.code(), Some(1));
        signed_in(&app, "pat@example.com", new).await;

        let newer = "yet-another-password-77";
        ok(&authkeep(
            &app,
            &["user", "set-password", "--email", "pat@example.com", "--password", newer, "--revoke-sessions"],
            None,
        )
        .await);
        assert!(session_of(&mut c).await.is_null(), "every session ended");
        signed_in(&app, "pat@example.com", newer).await;

        let out = authkeep(
            &app,
            &["user", "set-password", "--email", "ghost@example.com", "--password", newer],
            None,
        )
        .await;
        assert_eq!(out.status.code(), Some(1));
        app.stop().await;
    }

    async fn sessions_are_listed_and_revoked_by_token_or_email(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut first = app.client();
        first.sign_up("sam@example.com").await;
        let mut second = signed_in(&app, "sam@example.com", PASSWORD).await;
        let mut third = signed_in(&app, "sam@example.com", PASSWORD).await;
        let listed = json_of(&authkeep(&app, &["session", "list", "--email", "sam@example.com", "--json"], None).await);
        let listed = listed.as_array().unwrap().clone();
        assert_eq!(listed.len(), 3);
        let second_token = session_of(&mut second).await["session"]["token"].as_str().unwrap().to_owned();
        assert!(listed.iter().any(|s| s["token"] == second_token.as_str()));

        let out = ok(&authkeep(&app, &["session", "revoke", "--token", &second_token], None).await);
        assert!(out.contains("revoked session"), "{out}");
        assert!(session_of(&mut second).await.is_null());
        assert!(!session_of(&mut first).await.is_null(), "only that session ended");
        let again = authkeep(&app, &["session", "revoke", "--token", &second_token], None).await;
        assert_eq!(again.status.code(), Some(1), "a token that names no live session is an error");

        ok(&authkeep(&app, &["session", "revoke", "--email", "sam@example.com"], None).await);
        assert!(session_of(&mut first).await.is_null());
        assert!(session_of(&mut third).await.is_null());
        let listed = json_of(&authkeep(&app, &["session", "list", "--email", "sam@example.com", "--json"], None).await);
        assert_eq!(listed, json!([]));
        app.stop().await;
    }

    async fn delete_needs_yes_and_removes_sessions_and_accounts(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        c.sign_up("del@example.com").await;
        ok(&authkeep(&app, &["user", "verify-email", "--email", "del@example.com"], None).await);
        assert_eq!(session_of(&mut c).await["user"]["emailVerified"], true);

        let out = authkeep(&app, &["user", "delete", "--email", "del@example.com"], None).await;
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out).1.contains("--yes"), "{}", text(&out).1);
        assert_eq!(app.count("user").await, 1, "nothing deleted without --yes");

        ok(&authkeep(&app, &["user", "delete", "--email", "del@example.com", "--yes"], None).await);
        assert_eq!(app.count("user").await, 0);
        assert_eq!(app.count("account").await, 0);
        assert_eq!(app.count("session").await, 0);
        assert!(session_of(&mut c).await.is_null());
        assert_eq!(app.client().sign_in("del@example.com", PASSWORD).await.status, 401);
        let out = authkeep(&app, &["user", "delete", "--email", "del@example.com", "--yes"], None).await;
        assert_eq!(out.status.code(), Some(1));
        app.stop().await;
    }
}

on_both_databases! {
    // Sessions kept only in Redis (secondary storage) are listed and revoked there.
    async fn sessions_in_redis_are_listed_and_revoked(db: Db) {
        if crate::secondary_storage::skip_redis() {
            return;
        }
        let keys = crate::secondary_storage::Keys::new();
        let app = TestApp::spawn_with(db, |c| {
            c.secondary_storage.url = Some(authkeep::config::Secret::new(keys.url.clone()));
            c.secondary_storage.key_prefix = keys.prefix.clone();
        })
        .await;
        let env = [
            ("AUTHKEEP_SECONDARY_STORAGE__URL", keys.url.as_str()),
            ("AUTHKEEP_SECONDARY_STORAGE__KEY_PREFIX", keys.prefix.as_str()),
        ];
        let mut first = app.client();
        first.sign_up("red@example.com").await;
        let mut second = signed_in(&app, "red@example.com", PASSWORD).await;
        assert_eq!(app.count("session").await, 0, "sessions live in Redis only");
        let listed = json_of(
            &authkeep_with(&app, &["session", "list", "--email", "red@example.com", "--json"], None, &env).await,
        );
        assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
        let token = session_of(&mut second).await["session"]["token"].as_str().unwrap().to_owned();
        ok(&authkeep_with(&app, &["session", "revoke", "--token", &token], None, &env).await);
        assert!(session_of(&mut second).await.is_null());
        assert!(!session_of(&mut first).await.is_null());
        ok(&authkeep_with(&app, &["session", "revoke", "--email", "red@example.com"], None, &env).await);
        assert!(session_of(&mut first).await.is_null());

        let mut third = signed_in(&app, "red@example.com", PASSWORD).await;
        ok(&authkeep_with(
            &app,
            &["user", "set-password", "--email", "red@example.com", "--password", "redis-new-password", "--revoke-sessions"],
            None,
            &env,
        )
        .await);
        assert!(session_of(&mut third).await.is_null());
        let mut fourth = signed_in(&app, "red@example.com", "redis-new-password").await;
        ok(&authkeep_with(&app, &["user", "delete", "--email", "red@example.com", "--yes"], None, &env).await);
        assert!(session_of(&mut fourth).await.is_null());
        app.stop().await;
    }
}

/// Without a migrated database the commands say what to do, with their own exit code.
#[tokio::test]
async fn an_unmigrated_database_says_to_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("empty.sqlite").display());
    let out = crate::cli::authkeep(dir.path())
        .args(["user", "list", "--database-url", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("authkeep migrate"), "{stderr}");
}

on_both_databases! {
    async fn the_cli_and_the_admin_plugin_create_users_alike(db: Db) {
        let app = TestApp::spawn_with(db, |c| c.admin.enabled = true).await;
        let out = authkeep_with(
            &app,
            &["user", "create", "--email", "cli@example.com", "--name", "Cli", "--password", PASSWORD],
            None,
            &[("AUTHKEEP_ADMIN__ENABLED", "true")],
        )
        .await;
        ok(&out);
        let mut c = signed_in(&app, "cli@example.com", PASSWORD).await;
        let user = c.get("/get-session").await.json["user"].clone();
        assert_eq!((user["role"].clone(), user["banned"].clone()), (json!("user"), json!(false)), "the plugin's default role: {user}");
    }
}
