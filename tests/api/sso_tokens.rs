//! Signed login tokens (`/auth?token=<jwt>`): signing secret, lifetime, single use, binding.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::TestApp,
    on_each_backend,
    sso::{auth_get, expect_401_page, page_with_cookie, pair, session_cookie, signable},
};

fn sign(secret: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

fn now() -> i64 {
    confab::store::now()
}

on_each_backend!(signed_login_tokens_are_short_lived_and_single_use);

async fn signed_login_tokens_are_short_lived_and_single_use(app: TestApp) {
    let joe = signable(&app, &app.alpha, "joe").await;
    let ann = signable(&app, &app.alpha, "ann").await;
    let claims = |jti: &str| json!({"sub": joe.host_id.to_string(), "iat": now(), "exp": now() + 120, "jti": jti});
    let login = |token: String| {
        let app = &app;
        let hostname = joe.hostname.clone();
        async move {
            auth_get(
                app,
                &hostname,
                &[("token", &token), ("redirect_url", "/conf/calls/upcoming")],
            )
            .await
        }
    };
    // No secret issued yet.
    let html = expect_401_page(login(sign("guess", claims("a"))).await).await;
    assert!(html.contains("not enabled"), "{html}");

    // A company admin of another company cannot reset joe's secret.
    let (_, ann_admin) = app
        .host(
            &app.alpha,
            ann.company_id,
            "admin@ann.alpha.test",
            "COMPANY_ADMIN",
        )
        .await;
    let (status, _) = app
        .call(
            &app.alpha.api_host,
            &ann_admin,
            "company/sso_secret/reset",
            json!({"company_id": joe.company_id}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let reset = app
        .ok(
            &app.alpha.api_host,
            &app.alpha.admin_token,
            "company/sso_secret/reset",
            json!({"company_id": joe.company_id}),
        )
        .await;
    let secret = reset["sso_secret"].as_str().expect("secret").to_string();
    assert_eq!(reset["algorithm"], "HS256");

    // Success, then the same token again is refused.
    let token = sign(&secret, claims("first"));
    let response = login(token.clone()).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&response);
    let page = page_with_cookie(&app, &joe.hostname, "/conf/calls/upcoming", &pair(&cookie)).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        expect_401_page(login(token).await)
            .await
            .contains("already used")
    );

    // Expired, too long-lived, badly signed, for another company's host, or without jti.
    let expired = json!({"sub": joe.host_id.to_string(), "iat": now() - 400, "exp": now() - 100, "jti": "old"});
    assert!(
        expect_401_page(login(sign(&secret, expired)).await)
            .await
            .contains("expired")
    );
    let long =
        json!({"sub": joe.host_id.to_string(), "iat": now(), "exp": now() + 3600, "jti": "long"});
    assert!(
        expect_401_page(login(sign(&secret, long)).await)
            .await
            .contains("5 minutes")
    );
    assert!(
        expect_401_page(login(sign("not-the-secret", claims("forged"))).await)
            .await
            .contains("signature")
    );
    let other =
        json!({"sub": ann.host_id.to_string(), "iat": now(), "exp": now() + 60, "jti": "other"});
    expect_401_page(login(sign(&secret, other)).await).await;
    let no_jti = json!({"sub": joe.host_id.to_string(), "iat": now(), "exp": now() + 60});
    expect_401_page(login(sign(&secret, no_jti)).await).await;

    // Resetting the secret invalidates tokens signed with the old one.
    let renewed = app
        .ok(
            &app.alpha.api_host,
            &app.alpha.admin_token,
            "company/sso_secret/reset",
            json!({"company_id": joe.company_id}),
        )
        .await;
    let new_secret = renewed["sso_secret"].as_str().expect("secret");
    assert_ne!(new_secret, secret);
    expect_401_page(login(sign(&secret, claims("stale"))).await).await;
    let response = login(sign(new_secret, claims("fresh"))).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // The token is bound to the company domain: joe's token does nothing on ann's domain.
    let response = auth_get(
        &app,
        &ann.hostname,
        &[("token", &sign(new_secret, claims("elsewhere")))],
    )
    .await;
    expect_401_page(response).await;
}
