//! Backup codes: sign-in with one, single use (also when raced), regeneration.

use serde_json::json;

use super::*;
use crate::helpers::{Db, PASSWORD};
use crate::on_both_databases;

on_both_databases! {
    async fn a_backup_code_signs_in_once(db: Db) {
        let app = spawn(db).await;
        let (_, codes, _) = enrolled(&app, "hal@example.com").await;
        let (mut c, _) = challenged(&app, "hal@example.com").await;
        let r = c
            .post("/two-factor/verify-backup-code", json!({ "code": "zzzzz-zzzzz" }))
            .await;
        assert_eq!((r.status, r.code()), (401, "INVALID_BACKUP_CODE"), "{}", r.text);
        let r = c
            .post("/two-factor/verify-backup-code", json!({ "code": codes[0] }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(r.json["token"].is_string());
        let s = c.get("/get-session").await;
        assert_eq!(s.json["user"]["email"], "hal@example.com", "{}", s.text);

        let (mut d, _) = challenged(&app, "hal@example.com").await;
        let r = d
            .post("/two-factor/verify-backup-code", json!({ "code": codes[0] }))
            .await;
        assert_eq!((r.status, r.code()), (401, "INVALID_BACKUP_CODE"), "{}", r.text);
        let r = d
            .post("/two-factor/verify-backup-code", json!({ "code": codes[1] }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        app.stop().await;
    }

    async fn one_code_raced_on_two_sign_ins_works_once(db: Db) {
        let app = spawn(db).await;
        let (_, codes, _) = enrolled(&app, "ivy@example.com").await;
        let (a, _) = challenged(&app, "ivy@example.com").await;
        let (b, _) = challenged(&app, "ivy@example.com").await;
        let send = |c: &crate::helpers::Client| {
            let (http, url, cookie, origin) = (
                c.http.clone(),
                format!("{}/two-factor/verify-backup-code", c.api),
                c.cookie_header(),
                app.origin.clone(),
            );
            let code = codes[2].clone();
            tokio::spawn(async move {
                http.post(url)
                    .header("cookie", cookie)
                    .header("origin", origin)
                    .json(&json!({ "code": code }))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        };
        let (ra, rb) = (send(&a), send(&b));
        let statuses = [ra.await.unwrap(), rb.await.unwrap()];
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{statuses:?}"
        );
        assert!(statuses.iter().all(|s| [200, 401, 409].contains(s)), "{statuses:?}");
        app.stop().await;
    }

    async fn new_backup_codes_replace_the_old(db: Db) {
        let app = spawn(db).await;
        let (_, old, mut c) = enrolled(&app, "jon@example.com").await;
        let r = c
            .post("/two-factor/generate-backup-codes", json!({ "password": "wrong-wrong" }))
            .await;
        assert_eq!((r.status, r.code()), (400, "INVALID_PASSWORD"), "{}", r.text);
        let r = c
            .post("/two-factor/generate-backup-codes", json!({ "password": PASSWORD }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["status"], true);
        let new: Vec<String> = r.json["backupCodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(new.len(), 10);
        let (mut d, _) = challenged(&app, "jon@example.com").await;
        let r = d
            .post("/two-factor/verify-backup-code", json!({ "code": old[0] }))
            .await;
        assert_eq!(r.code(), "INVALID_BACKUP_CODE", "{}", r.text);
        let r = d
            .post("/two-factor/verify-backup-code", json!({ "code": new[0] }))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        app.stop().await;
    }
}
