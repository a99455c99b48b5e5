//! Cookie attributes for real deployments: a frontend on another site (`SameSite=None`, which
//! needs `Secure` and, where third-party cookies are blocked, `Partitioned`), one session across
//! subdomains, and the environment variables that set them.

use serde_json::json;

use crate::helpers::{Db, TestApp};

fn attributes(set_cookie: &str) -> &str {
    set_cookie.split_once(';').map_or("", |(_, a)| a)
}

#[tokio::test]
async fn same_site_none_brings_secure_and_partitioned() {
    let app = TestApp::spawn_with(Db::Sqlite, |c| {
        c.advanced.default_cookie_attributes.same_site = authkeep::config::SameSiteConfig::None;
    })
    .await;
    let mut c = app.client();
    let r = c.sign_up("cross@example.com").await;
    let cookie = r
        .cookie("better-auth.session_token")
        .expect("session cookie");
    assert_eq!(
        attributes(cookie),
        " Max-Age=604800; Path=/; HttpOnly; Secure; SameSite=None; Partitioned"
    );
    // Every cookie gets them, the OAuth state cookie and the expiring ones too.
    let r = c.post("/sign-out", json!({})).await;
    assert!(
        r.set_cookies
            .iter()
            .all(|c| c.ends_with("; Secure; SameSite=None; Partitioned")),
        "{:?}",
        r.set_cookies
    );
    app.stop().await;
}

#[tokio::test]
async fn partitioned_can_be_turned_off_and_a_domain_shared() {
    let app = TestApp::spawn_with(Db::Sqlite, |c| {
        let a = &mut c.advanced.default_cookie_attributes;
        a.same_site = authkeep::config::SameSiteConfig::None;
        a.partitioned = Some(false);
        c.advanced.cross_subdomain_cookies.enabled = true;
        c.advanced.cross_subdomain_cookies.domain = Some("example.test".into());
    })
    .await;
    let r = app.client().sign_up("sub@example.com").await;
    assert_eq!(
        attributes(r.cookie("better-auth.session_token").unwrap()),
        " Max-Age=604800; Domain=example.test; Path=/; HttpOnly; Secure; SameSite=None"
    );
    app.stop().await;
}

#[test]
fn the_attributes_come_from_environment_variables_too() {
    // The variable is a known key: no "not a configuration key" warning, and the value is used.
    let dir = tempfile::tempdir().unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_authkeep"));
    // The test runner's own AUTHKEEP_TEST_* variables would be warned about, rightly.
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("AUTHKEEP_")) {
        command.env_remove(name);
    }
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env(
            "AUTHKEEP_ADVANCED__DEFAULT_COOKIE_ATTRIBUTES__SAME_SITE",
            "none",
        )
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok) {
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("addr=") || line.contains("authkeep is serving") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(!seen.contains("not a configuration key"), "{seen}");
    assert!(
        seen.contains("SameSite=None, so Secure and Partitioned"),
        "{seen}"
    );
}
