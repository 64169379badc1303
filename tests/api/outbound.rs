//! Requests the server makes for tenants go to public addresses only: OpenID Connect issuers must
//! be https on public hosts, an issuer stored earlier that points inside is never contacted, and a
//! failed domain check says what failed without reflecting the network's answer.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::{
    helpers::{Backend, TestApp},
    sso::signable,
};

async fn strict_server() -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |config| {
        config.outbound_allow_private_addresses = false;
        config.domain_verify_connect_to = None;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_issuers_must_be_public_https() {
    let app = strict_server().await;
    let r = &app.alpha;
    let joe = signable(&app, r, "joe").await;
    app.ok(
        &r.api_host,
        &r.admin_token,
        "company/update",
        json!({"company_id": joe.company_id, "openid_provider": true}),
    )
    .await;
    let set = |issuer: &str| {
        json!({"company_id": joe.company_id, "issuer_url": issuer, "client_id": "c",
               "client_secret": "s"})
    };
    for inside in [
        "http://127.0.0.1:9/",
        "https://127.0.0.1:9/",
        "https://localhost/",
        "https://[::1]/",
        "https://10.0.0.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:192.168.1.1]/",
        "http://login.example.com/",
    ] {
        let (status, answer) = app
            .call(
                &r.api_host,
                &r.admin_token,
                "company/openid/set",
                set(inside),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{inside}: {answer}");
        assert_eq!(answer["error"], "invalid_field", "{inside}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("issuer_url:")),
            "{inside}: {answer}"
        );
    }
    app.ok(
        &r.api_host,
        &r.admin_token,
        "company/openid/set",
        set("https://login.example.com"),
    )
    .await;

    // Settings stored before the rule (or written around the API) are checked again when used:
    // the provider is never contacted, and the browser learns nothing about why.
    let provider = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = provider.local_addr().expect("addr").port();
    let reseller_id: i64 = sqlx::query_scalar("SELECT reseller_id FROM companies WHERE id = $1")
        .bind(joe.company_id)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("reseller");
    let mut settings =
        confab::store::sso::oidc_settings(&app.state.db, reseller_id, joe.company_id)
            .await
            .expect("read")
            .expect("stored");
    settings.issuer_url = format!("http://127.0.0.1:{port}");
    confab::store::sso::save_oidc_settings(&app.state.db, &settings)
        .await
        .expect("write");
    let start = app.page(&joe.hostname, "/auth/oidc/start").await;
    assert_eq!(start.status(), StatusCode::BAD_GATEWAY);
    let page = start.text().await.expect("body");
    assert!(!page.contains("127.0.0.1"), "{page}");
    let contacted = tokio::time::timeout(Duration::from_millis(500), provider.accept()).await;
    assert!(contacted.is_err(), "the internal address was contacted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domain_checks_do_not_reflect_network_errors() {
    let app = strict_server().await;
    let r = &app.alpha;
    let joe = app.company(r, "joe").await;
    let domain = "meet.joe-corp.example";
    app.ok(
        &r.api_host,
        &r.admin_token,
        "domain/add",
        json!({"company_id": joe, "domain": domain}),
    )
    .await;
    let (status, answer) = app
        .call(
            &r.api_host,
            &r.admin_token,
            "domain/verify",
            json!({"company_id": joe, "domain": domain}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["error"], "domain_not_verified");
    let message = answer["message"].as_str().expect("message");
    assert_eq!(
        message,
        format!("Domain not verified: {domain} does not resolve to any address")
    );
}
