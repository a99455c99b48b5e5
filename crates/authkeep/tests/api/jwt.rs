//! better-auth's jwt plugin: `/token`, `/jwks`, `set-auth-jwt`, key storage and rotation.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp};
use crate::on_both_databases;

fn part(token: &str, i: usize) -> Value {
    serde_json::from_slice(&B64.decode(token.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

/// Verifies a JWT's signature against a JWKS the way an API server would: by `kid`.
fn verify(token: &str, jwks: &Value) -> bool {
    let header = part(token, 0);
    let Some(key) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
    else {
        return false;
    };
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = B64.decode(sig).unwrap();
    let field = |n: &str| B64.decode(key[n].as_str().unwrap()).unwrap();
    match header["alg"].as_str().unwrap() {
        "EdDSA" => {
            let pk = ed25519_compact::PublicKey::from_slice(&field("x")).unwrap();
            pk.verify(
                input.as_bytes(),
                &ed25519_compact::Signature::from_slice(&sig).unwrap(),
            )
            .is_ok()
        }
        "ES256" => {
            use p256::ecdsa::signature::Verifier;
            let point = p256::EncodedPoint::from_affine_coordinates(
                field("x").as_slice().into(),
                field("y").as_slice().into(),
                false,
            );
            let vk = p256::ecdsa::VerifyingKey::from_encoded_point(&point).unwrap();
            vk.verify(
                input.as_bytes(),
                &p256::ecdsa::Signature::from_slice(&sig).unwrap(),
            )
            .is_ok()
        }
        "RS256" => {
            use rsa::signature::Verifier;
            let pk = rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(&field("n")),
                rsa::BigUint::from_bytes_be(&field("e")),
            )
            .unwrap();
            let vk = rsa::pkcs1v15::VerifyingKey::<sha2_010::Sha256>::new(pk);
            vk.verify(
                input.as_bytes(),
                &rsa::pkcs1v15::Signature::try_from(sig.as_slice()).unwrap(),
            )
            .is_ok()
        }
        other => panic!("unexpected alg {other}"),
    }
}

on_both_databases! {
    async fn token_and_jwks_match_better_auth(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        let user = c.sign_up("jwt@example.com").await.json["user"].clone();
        let r = c.get("/token").await;
        assert_eq!(r.status, 200, "{}", r.text);
        let token = r.json["token"].as_str().unwrap().to_owned();
        let header = part(&token, 0);
        assert_eq!(header["alg"], "EdDSA");
        assert!(header.get("typ").is_none());
        let claims = part(&token, 1);
        assert_eq!(claims["sub"], user["id"]);
        for k in ["id", "email", "name", "emailVerified", "image", "createdAt", "updatedAt"] {
            assert_eq!(claims[k], user[k], "{k}");
        }
        assert_eq!(claims["iss"], app.origin.as_str());
        assert_eq!(claims["aud"], app.origin.as_str());
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);

        let jwks = c.get("/jwks").await;
        assert!(jwks.header("cache-control").unwrap().contains("max-age"));
        let keys = jwks.json["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!((keys[0]["alg"].clone(), keys[0]["crv"].clone(), keys[0]["kty"].clone()), (json!("EdDSA"), json!("Ed25519"), json!("OKP")));
        assert_eq!(keys[0]["kid"], header["kid"]);
        assert!(keys[0].get("d").is_none(), "never publishes the private key");
        assert!(verify(&token, &jwks.json));

        // get-session hands out a fresh JWT too.
        let s = c.get("/get-session").await;
        let from_header = s.header("set-auth-jwt").expect("set-auth-jwt").to_owned();
        assert!(s.header("access-control-expose-headers").unwrap().contains("set-auth-jwt"));
        assert!(verify(&from_header, &jwks.json));
        let mut forged = from_header.clone();
        forged.replace_range(forged.len() - 4.., "AAAA");
        assert!(!verify(&forged, &jwks.json));

        assert_eq!(app.client().get("/token").await.status, 401);
        assert!(app.client().get("/get-session").await.header("set-auth-jwt").is_none());
        app.stop().await;
    }

    async fn the_private_key_is_stored_encrypted_and_reused(db: Db) {
        let app = TestApp::spawn(db).await;
        let mut c = app.client();
        c.sign_up("keys@example.com").await;
        let kid = part(c.get("/token").await.json["token"].as_str().unwrap(), 0)["kid"].clone();
        let rows = app.store.list_jwks().await.unwrap();
        assert_eq!(rows.len(), 1);
        let stored: Value = serde_json::from_str(&rows[0].private_key).unwrap();
        let sealed = stored.as_str().expect("a JSON string literal, as better-auth stores it");
        assert!(sealed.bytes().all(|b| b.is_ascii_hexdigit()), "hex ciphertext");
        assert!(!rows[0].private_key.contains("\"d\""));
        let sealing = authkeep::crypto::SealingKey::new(&authkeep::crypto::Secret::new(crate::helpers::SECRET));
        let plain = sealing.open(sealed).unwrap();
        assert!(serde_json::from_str::<Value>(&plain).unwrap()["d"].is_string());
        assert_eq!(rows[0].alg.as_deref(), Some("EdDSA"));
        // A second server on the same database signs with the same key.
        let jwt = app.client().get("/jwks").await.json;
        assert_eq!(jwt["keys"].as_array().unwrap().len(), 1);
        assert_eq!(jwt["keys"][0]["kid"], kid);
        app.stop().await;
    }

    async fn other_algorithms_are_selectable(db: Db) {
        for alg in ["ES256", "RS256"] {
            let app = TestApp::spawn_with(db, |c| {
                c.jwt.algorithm = authkeep::auth::jwt::Algorithm::parse(alg).unwrap();
                c.jwt.issuer = Some("https://issuer.test".into());
                c.jwt.audience = Some("https://api.test".into());
                c.jwt.expiration = 60;
            }).await;
            let mut c = app.client();
            c.sign_up("alg@example.com").await;
            let token = c.get("/token").await.json["token"].as_str().unwrap().to_owned();
            assert_eq!(part(&token, 0)["alg"], alg);
            let claims = part(&token, 1);
            assert_eq!((claims["iss"].clone(), claims["aud"].clone()), (json!("https://issuer.test"), json!("https://api.test")));
            assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 60);
            let jwks = c.get("/jwks").await.json;
            assert_eq!(jwks["keys"][0]["alg"], alg);
            assert!(verify(&token, &jwks), "{alg}");
            app.stop().await;
        }
    }

    async fn rotated_keys_stay_published_for_the_grace_period(db: Db) {
        let app = TestApp::spawn_with(db, |c| {
            c.jwt.rotation_interval = 3600;
            c.jwt.grace_period = 86_400;
        }).await;
        let mut c = app.client();
        c.sign_up("rot@example.com").await;
        let old = c.get("/token").await.json["token"].as_str().unwrap().to_owned();
        // The key's rotation time passes: 2 hours ago.
        app.sql(
            r#"update "jwks" set "expiresAt" = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-2 hours')"#,
            r#"update "jwks" set "expiresAt" = now() - interval '2 hours'"#,
        ).await;
        let jwks = c.get("/jwks").await.json;
        assert!(verify(&old, &jwks), "within the grace period the old key still verifies");
        // authkeep caches the key with its expiry; a restart (or another replica) reads the
        // moved-back expiry from the table and rotates.
        let restarted = TestApp::spawn_on_store(&app, |c| {
            c.jwt.rotation_interval = 3600;
            c.jwt.grace_period = 86_400;
        }).await;
        let mut c2 = restarted.client();
        c2.sign_in("rot@example.com", crate::helpers::PASSWORD).await;
        let new = c2.get("/token").await.json["token"].as_str().unwrap().to_owned();
        assert_ne!(part(&new, 0)["kid"], part(&old, 0)["kid"], "a new key signs after rotation");
        let jwks = c2.get("/jwks").await.json;
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert!(verify(&new, &jwks) && verify(&old, &jwks));
        // Past the grace period the old key is gone.
        app.sql(
            r#"update "jwks" set "expiresAt" = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-2 days') where "expiresAt" < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"#,
            r#"update "jwks" set "expiresAt" = now() - interval '2 days' where "expiresAt" < now()"#,
        ).await;
        let jwks = c2.get("/jwks").await.json;
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
        assert!(!verify(&old, &jwks));
        restarted.stop().await;
        app.stop().await;
    }

    async fn jwt_can_be_switched_off(db: Db) {
        let app = TestApp::spawn_with(db, |c| c.jwt.enabled = false).await;
        let mut c = app.client();
        c.sign_up("nojwt@example.com").await;
        assert_eq!(c.get("/token").await.status, 404);
        assert_eq!(c.get("/jwks").await.status, 404);
        assert!(c.get("/get-session").await.header("set-auth-jwt").is_none());
        app.stop().await;
    }
}
