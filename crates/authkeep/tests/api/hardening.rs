//! Defects found by a security review (issue 7), each tried the way an attacker would.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::helpers::{Db, PASSWORD, TestApp};
use crate::on_both_databases;

/// The stored code of an email OTP (`<otp>:<attempts>`).
async fn stored_otp(app: &TestApp, identifier: &str) -> String {
    let value = app
        .verification_value(identifier)
        .await
        .expect("a code is stored");
    value.split(':').next().unwrap().to_owned()
}

/// Sends every body at once to `path` and returns the answers.
async fn burst(app: &TestApp, path: &'static str, bodies: Vec<Value>) -> Vec<(u16, String)> {
    let mut tasks = JoinSet::new();
    for body in bodies {
        let mut c = app.client();
        tasks.spawn(async move {
            let r = c.post(path, body).await;
            (r.status, r.code().to_owned())
        });
    }
    let mut out = Vec::new();
    while let Some(r) = tasks.join_next().await {
        out.push(r.unwrap());
    }
    out
}

fn wrong_code(right: &str, i: usize) -> String {
    let n: u64 = right.parse().unwrap();
    format!("{:06}", (n + 1 + i as u64) % 1_000_000)
}

/// Wrong guesses sent all at once count exactly as the same guesses one by one would: as soon
/// as the limit's worth of them have been answered "wrong", the right code is refused, even
/// while more wrong guesses are still in flight. Each of a few rounds sends a new code first
/// (`send`), because one lucky interleaving could hide a lost update.
async fn right_code_is_refused_once_the_limit_is_spent(
    app: &TestApp,
    send: (&'static str, Value),
    path: &'static str,
    identifier: &str,
    body: impl Fn(&str) -> Value,
) {
    const ALLOWED_ATTEMPTS: usize = 3;
    for round in 0..3 {
        assert_eq!(app.client().post(send.0, send.1.clone()).await.status, 200);
        let right = stored_otp(app, identifier).await;
        let mut tasks = JoinSet::new();
        for i in 0..60 {
            let (mut c, guess) = (app.client(), body(&wrong_code(&right, i)));
            tasks.spawn(async move {
                let r = c.post(path, guess).await;
                (r.status, r.code().to_owned())
            });
        }
        let mut wrong = 0;
        while wrong < ALLOWED_ATTEMPTS {
            let (status, code) = tasks.join_next().await.expect("more answers").unwrap();
            match (status, code.as_str()) {
                (400, "INVALID_OTP") | (403, "TOO_MANY_ATTEMPTS") => wrong += 1,
                other => panic!("a wrong guess got {other:?}"),
            }
        }
        let r = app.client().post(path, body(&right)).await;
        assert_ne!(
            r.status, 200,
            "round {round}: the right code works after {wrong} wrong answers: {}",
            r.text
        );
        while let Some(answer) = tasks.join_next().await {
            let (status, code) = answer.unwrap();
            assert!(
                matches!(
                    (status, code.as_str()),
                    (400, "INVALID_OTP") | (403, "TOO_MANY_ATTEMPTS")
                ),
                "{status} {code}"
            );
        }
    }
}

/// Wrong guesses and the right one at once: at most one request may win.
async fn at_most_one_winner(
    app: &TestApp,
    send: (&'static str, Value),
    path: &'static str,
    identifier: &str,
    body: impl Fn(&str) -> Value,
) {
    assert_eq!(app.client().post(send.0, send.1).await.status, 200);
    let right = stored_otp(app, identifier).await;
    let mut bodies: Vec<Value> = (0..49).map(|i| body(&wrong_code(&right, i))).collect();
    bodies.push(body(&right));
    let answers = burst(app, path, bodies).await;
    let wins = answers.iter().filter(|(s, _)| *s == 200).count();
    let burnt = answers
        .iter()
        .filter(|(_, c)| c == "TOO_MANY_ATTEMPTS")
        .count();
    assert!(wins <= 1, "{answers:?}");
    assert!(
        wins == 0 || burnt == 0,
        "a code was accepted after the limit was reached: {answers:?}"
    );
}

async fn otp_app(db: Db) -> TestApp {
    TestApp::spawn_with(db, |c| c.email_otp.enabled = true).await
}

on_both_databases! {
    async fn otp_attempt_limit_holds_under_concurrent_guesses_on_sign_in(db: Db) {
        let app = otp_app(db).await;
        app.client().sign_up("race-otp@example.com").await;
        let send = json!({"email": "race-otp@example.com", "type": "sign-in"});
        let id = "sign-in-otp-race-otp@example.com";
        let guess = |otp: &str| json!({"email": "race-otp@example.com", "otp": otp});
        let send = ("/email-otp/send-verification-otp", send);
        right_code_is_refused_once_the_limit_is_spent(&app, send.clone(), "/sign-in/email-otp", id, guess).await;
        assert_eq!(app.count("session").await, 1, "only the sign-up's session exists");
        at_most_one_winner(&app, send, "/sign-in/email-otp", id, guess).await;
        app.stop().await;
    }

    async fn otp_attempt_limit_holds_under_concurrent_guesses_on_verification(db: Db) {
        let app = otp_app(db).await;
        app.client().sign_up("race-verify@example.com").await;
        let send = json!({"email": "race-verify@example.com", "type": "email-verification"});
        let id = "email-verification-otp-race-verify@example.com";
        let guess = |otp: &str| json!({"email": "race-verify@example.com", "otp": otp});
        let send = ("/email-otp/send-verification-otp", send);
        right_code_is_refused_once_the_limit_is_spent(&app, send.clone(), "/email-otp/verify-email", id, guess).await;
        at_most_one_winner(&app, send, "/email-otp/verify-email", id, guess).await;
        app.stop().await;
    }

    async fn otp_attempt_limit_holds_under_concurrent_guesses_on_reset(db: Db) {
        let app = otp_app(db).await;
        app.client().sign_up("race-reset@example.com").await;
        let send = json!({"email": "race-reset@example.com"});
        let id = "forget-password-otp-race-reset@example.com";
        let guess = |otp: &str| json!({"email": "race-reset@example.com", "otp": otp, "password": "attacker-password-1"});
        let send = ("/email-otp/request-password-reset", send);
        right_code_is_refused_once_the_limit_is_spent(&app, send.clone(), "/email-otp/reset-password", id, guess).await;
        assert_eq!(app.client().sign_in("race-reset@example.com", PASSWORD).await.status, 200, "the password is unchanged");
        at_most_one_winner(&app, send, "/email-otp/reset-password", id, guess).await;
        app.stop().await;
    }

    async fn check_verification_otp_counts_concurrent_guesses_too(db: Db) {
        let app = otp_app(db).await;
        app.client().sign_up("race-check@example.com").await;
        let send = json!({"email": "race-check@example.com", "type": "sign-in"});
        let guess = |otp: &str| json!({"email": "race-check@example.com", "type": "sign-in", "otp": otp});
        let send = ("/email-otp/send-verification-otp", send);
        right_code_is_refused_once_the_limit_is_spent(&app, send, "/email-otp/check-verification-otp", "sign-in-otp-race-check@example.com", guess).await;
        app.stop().await;
    }

    async fn otp_requests_take_the_same_time_for_unknown_addresses(db: Db) {
        let app = otp_app(db).await;
        app.client().sign_up("timing@example.com").await;
        let mut c = app.client();
        for (path, body) in [
            ("/email-otp/send-verification-otp", json!({"email": "EMAIL", "type": "forget-password"})),
            ("/email-otp/send-verification-otp", json!({"email": "EMAIL", "type": "email-verification"})),
            ("/email-otp/request-password-reset", json!({"email": "EMAIL"})),
        ] {
            for email in ["timing@example.com", "nobody-here@example.com"] {
                let body: Value = serde_json::from_str(&body.to_string().replace("EMAIL", email)).unwrap();
                let started = Instant::now();
                let r = c.post(path, body).await;
                assert_eq!((r.status, r.json.clone()), (200, json!({"success": true})), "{path} {email}");
                assert!(started.elapsed() >= Duration::from_millis(250), "{path} {email} answered in {:?}", started.elapsed());
            }
        }
        app.stop().await;
    }

    async fn guesses_answer_alike_whether_or_not_the_address_has_an_account(db: Db) {
        let app = otp_app(db).await;
        app.client().sign_up("known@example.com").await;
        for email in ["known@example.com", "unknown@example.com"] {
            let mut c = app.client();
            let r = c.post("/email-otp/send-verification-otp", json!({"email": email, "type": "forget-password"})).await;
            assert_eq!(r.status, 200);
            let answers: Vec<(u16, String)> = {
                let mut out = Vec::new();
                for _ in 0..4 {
                    let r = c.post("/email-otp/reset-password", json!({"email": email, "otp": "000000", "password": "whatever-password"})).await;
                    out.push((r.status, r.code().to_owned()));
                }
                out
            };
            assert_eq!(answers[3], (403, "TOO_MANY_ATTEMPTS".to_owned()), "{email}: {answers:?}");
        }
        assert_eq!(app.mails_to("unknown@example.com"), 0, "the decoy code is never mailed");
        app.stop().await;
    }

    async fn concurrent_sends_and_sign_ups_stay_consistent(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            c.magic_link.enabled = true;
            c.email_otp.enabled = true;
        })
        .await;
        // Codes: sends at once leave one live code.
        let bodies = (0..10).map(|_| json!({"email": "burst@example.com", "type": "sign-in"})).collect();
        assert!(burst(&app, "/email-otp/send-verification-otp", bodies).await.iter().all(|(s, _)| *s == 200));
        let rows = app.count_where("verification", "identifier", "sign-in-otp-burst@example.com").await;
        assert_eq!(rows, 1, "one live code");
        // Links: sends at once stay within the bound.
        let bodies = (0..16).map(|_| json!({"email": "links@example.com"})).collect();
        assert!(burst(&app, "/sign-in/magic-link", bodies).await.iter().all(|(s, _)| *s == 200));
        assert!(app.count("verification").await <= 1 + 5, "at most 5 links for one address");
        // Two links for a new address followed at once: both sign in, one user exists.
        let mut tokens = Vec::new();
        for _ in 0..2 {
            let before = app.mails_to("pair@example.com");
            assert_eq!(app.client().post("/sign-in/magic-link", json!({"email": "pair@example.com"})).await.status, 200);
            while app.mails_to("pair@example.com") == before {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let mail = app.mail_to("pair@example.com", authkeep::email::Kind::MagicLink).await;
            tokens.push(mail.text.split_whitespace().find(|w| w.starts_with("http")).unwrap().to_owned());
        }
        let (mut a, mut b) = (app.client(), app.client());
        let (ra, rb) = tokio::join!(a.open(&tokens[0]), b.open(&tokens[1]));
        assert_eq!((ra.status, rb.status), (302, 302), "{} / {}", ra.text, rb.text);
        assert!(ra.header("location").is_some_and(|l| !l.contains("error")) && rb.header("location").is_some_and(|l| !l.contains("error")));
        assert_eq!(app.count("user").await, 1);
        app.stop().await;
    }

    async fn verify_email_redirects_only_to_the_normalised_callback(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        let r = c.sign_up("redir@example.com").await;
        let user_id = r.json["user"]["id"].as_str().unwrap().to_owned();
        let token = authkeep::auth::email_token::verification_token(&authkeep::crypto::HmacKey::new(&authkeep::crypto::Secret::new(crate::helpers::SECRET)), "redir@example.com", &user_id, 3600);
        let sneaky = format!("{}\\@evil.invalid", app.origin);
        let url = format!("/verify-email?token={token}&callbackURL={}", urlencode(&sneaky));
        let r = no_redirects(&app).get(format!("{}{url}", app.api)).send().await.unwrap();
        assert_eq!(r.status(), 302);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(location, format!("{}/@evil.invalid", app.origin));
        assert_eq!(url::Url::parse(&location).unwrap().host_str(), Some("127.0.0.1"));
        // Sign-in answers its callback in the same normalised form.
        let r = c.post("/sign-in/email", json!({"email": "redir@example.com", "password": PASSWORD, "callbackURL": sneaky})).await;
        assert_eq!(r.json["url"], format!("{}/@evil.invalid", app.origin));
        assert_eq!(r.header("location"), Some(format!("{}/@evil.invalid", app.origin).as_str()));
        app.stop().await;
    }

    async fn a_change_of_email_link_cannot_be_replayed_against_another_account(db: Db) {
        let app = TestApp::spawn_with(db, |c| c.user.change_email = true).await;
        let link = |mail: &authkeep::email::SentMail| {
            mail.text.split_whitespace().find(|w| w.starts_with("http")).unwrap().to_owned()
        };
        // The attacker registers the victim's address first (nothing proves it) ...
        let mut attacker = app.client();
        attacker.sign_up("victim@example.com").await;
        attacker.post("/change-email", json!({"newEmail": "drop1@attacker.example"})).await;
        let kept = link(&app.mail_to("drop1@attacker.example", authkeep::email::Kind::ChangeEmail).await);
        assert_eq!(attacker.open(&kept).await.status, 302);
        // ... moves away again, so both addresses are free ...
        attacker.post("/change-email", json!({"newEmail": "drop2@attacker.example"})).await;
        let second = link(&app.mail_to("drop2@attacker.example", authkeep::email::Kind::ChangeEmail).await);
        assert_eq!(attacker.open(&second).await.status, 302);
        // ... the real owner signs up, and the attacker replays the first link without a session.
        app.client().sign_up("victim@example.com").await;
        let mut anonymous = app.client();
        let r = anonymous.open(&kept).await;
        assert_eq!((r.status, r.header("location")), (302, Some("/?error=INVALID_TOKEN")), "{}", r.text);
        assert!(r.cookie("better-auth.session_token").is_none(), "nobody is signed in");
        assert_eq!(app.client().sign_in("victim@example.com", PASSWORD).await.status, 200, "the victim keeps the address");
        app.stop().await;
    }

    async fn names_with_control_characters_are_refused(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        for name in ["Hello there.\n\nSECURITY ALERT: visit https://evil.example", "a\u{0}b", "esc\u{1b}[31m", "cr\rlf", "line\u{2028}sep", "evil\u{202e}txt.exe"] {
            let r = c.post("/sign-up/email", json!({"name": name, "email": "ctl@example.com", "password": PASSWORD})).await;
            assert_eq!((r.status, r.code()), (400, "VALIDATION_ERROR"), "{name:?}: {}", r.text);
            assert!(r.json["message"].as_str().unwrap().starts_with("[body.name]"), "{}", r.text);
        }
        assert_eq!(app.count("user").await, 0);
        c.sign_up("ctl@example.com").await;
        let r = c.post("/update-user", json!({"name": "two\nlines"})).await;
        assert_eq!((r.status, r.code()), (400, "VALIDATION_ERROR"));
        let r = c.post("/update-user", json!({"name": "Tab\tand ünïcödé are fine"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        app.stop().await;
    }

    async fn a_disabled_endpoint_is_an_empty_json_404(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        c.sign_up("off@example.com").await;
        let r = c.post("/delete-user", json!({"password": PASSWORD})).await;
        assert_eq!((r.status, r.text.as_str()), (404, ""));
        assert_eq!(r.header("content-type"), Some("application/json"));
        app.stop().await;
    }

    async fn expired_verification_rows_are_purged_and_links_are_bounded(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            c.magic_link.enabled = true;
            c.verification.purge_interval = 1;
        })
        .await;
        app.sql(
            r#"insert into "verification" ("id", "identifier", "value", "expiresAt", "createdAt", "updatedAt")
               values ('old1', 'magic-link:stale', 'x', '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z')"#,
            r#"insert into "verification" ("id", "identifier", "value", "expiresAt", "createdAt", "updatedAt")
               values ('old1', 'magic-link:stale', 'x', '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z')"#,
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while app.count("verification").await > 0 {
            assert!(Instant::now() < deadline, "the expired row was never purged");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut c = app.client();
        for _ in 0..20 {
            let r = c.post("/sign-in/magic-link", json!({"email": "flood@example.com"})).await;
            assert_eq!(r.status, 200);
        }
        let outstanding = app.count("verification").await;
        assert!(outstanding <= 5, "{outstanding} links are outstanding for one address");
        app.stop().await;
    }

    async fn long_and_pathological_origins_are_refused_quickly(db: Db) {
        let app = TestApp::spawn_with(db, |c| c.trusted_origins = vec!["https://*a*a*a*a*a*a*a*a*a*a*a*a.example".into()]).await;
        let mut c = app.client();
        c.sign_up("glob@example.com").await;
        let evil = format!("https://{}b.example", "a".repeat(60));
        c.origin = Some(evil);
        let r = c.post("/sign-out", json!({})).await;
        assert_eq!((r.status, r.code()), (403, "INVALID_ORIGIN"));
        c.origin = Some(format!("https://{}.example", "a".repeat(10_000)));
        let r = c.post("/sign-out", json!({})).await;
        assert_eq!((r.status, r.code()), (403, "INVALID_ORIGIN"));
        app.stop().await;
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn no_redirects(_app: &TestApp) -> reqwest::Client {
    crate::helpers::http_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_app_never_prints_its_secrets() {
    let db = crate::helpers::TestDb::new(Db::Sqlite).await;
    let mut cfg = crate::helpers::test_config(&db.url);
    cfg.email.smtp_url =
        authkeep::crypto::Secret::new("smtp://mailer:smtp-password-42@127.0.0.1:2525");
    let prepared = authkeep::serve::prepare(&cfg).await.unwrap();
    let shown = format!("{:?}", prepared.app);
    assert!(
        !shown.contains(crate::helpers::SECRET),
        "the secret is printed: {shown}"
    );
    assert!(
        !shown.contains("smtp-password-42"),
        "the SMTP password is printed"
    );
}
