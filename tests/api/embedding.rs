//! Embedding: cookies that survive cross-site iframes over https, and per-company
//! `frame-ancestors` from `embed_origins`.

use reqwest::{StatusCode, header};
use serde_json::json;

use crate::{
    helpers::{Backend, TestApp},
    on_each_backend,
    sso::{auth_get, session_cookie, set_cookies, signable},
};

async fn https_cookies_work_in_cross_site_iframes(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.public_scheme = "https".into()).await;
    let joe = signable(&app, &app.alpha, "joe").await;
    let id = joe.host_id.to_string();
    let response = auth_get(
        &app,
        &joe.hostname,
        &[
            ("host_id", &id),
            ("login_token_public_key", &joe.login_key),
            ("remember_me", "0"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&response);
    for attribute in [
        "SameSite=None",
        "Secure",
        "Partitioned",
        "HttpOnly",
        "Path=/",
    ] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(!cookie.contains("Max-Age"), "{cookie}");
    let response = auth_get(
        &app,
        &joe.hostname,
        &[
            ("host_id", &id),
            ("login_token_public_key", &joe.login_key),
            ("remember_me", "1"),
        ],
    )
    .await;
    let cookie = session_cookie(&response);
    let ttl = app.state.config.browser_session_ttl_secs;
    assert!(cookie.contains(&format!("Max-Age={ttl}")), "{cookie}");
    // The CSRF cookie of forms travels into iframes too.
    let login = app.page(&joe.hostname, "/login").await;
    let csrf = set_cookies(&login)
        .into_iter()
        .find(|c| c.starts_with("mtg_csrf="))
        .expect("csrf cookie");
    assert!(
        csrf.contains("SameSite=None") && csrf.contains("Secure"),
        "{csrf}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_cookies_work_in_cross_site_iframes_sqlite() {
    https_cookies_work_in_cross_site_iframes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_cookies_work_in_cross_site_iframes_postgres() {
    if crate::helpers::postgres_enabled() {
        https_cookies_work_in_cross_site_iframes(Backend::Postgres).await;
    }
}

fn frame_ancestors(response: &reqwest::Response) -> String {
    let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ascii")
        .to_string();
    policy
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("frame-ancestors"))
        .unwrap_or_else(|| panic!("no frame-ancestors in {policy}"))
        .to_string()
}

on_each_backend!(frame_ancestors_follow_the_company_embed_origins);

async fn frame_ancestors_follow_the_company_embed_origins(app: TestApp) {
    let joe = signable(&app, &app.alpha, "joe").await;
    let ann = signable(&app, &app.alpha, "ann").await;
    let r = app.alpha.clone();
    assert_eq!(
        frame_ancestors(&app.page(&joe.hostname, "/login").await),
        "frame-ancestors 'self'"
    );
    let updated = app
        .ok(
            &r.api_host,
            &r.admin_token,
            "company/update",
            json!({"company_id": joe.company_id, "embed_origins": ["https://App.Partner.example", "http://localhost:3000/"]}),
        )
        .await;
    assert_eq!(
        updated["embed_origins"],
        json!(["https://app.partner.example", "http://localhost:3000"])
    );
    let got = app
        .ok(
            &r.api_host,
            &r.admin_token,
            "company/get",
            json!({"company_id": joe.company_id}),
        )
        .await;
    assert_eq!(
        got["embed_origins"],
        json!(["https://app.partner.example", "http://localhost:3000"])
    );
    let expected = "frame-ancestors 'self' https://app.partner.example http://localhost:3000";
    assert_eq!(
        frame_ancestors(&app.page(&joe.hostname, "/login").await),
        expected
    );
    // Error pages of the company are framed the same way (the 401 inside the iframe shows).
    let failed = auth_get(
        &app,
        &joe.hostname,
        &[("host_id", "1"), ("login_token_public_key", "x")],
    )
    .await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(frame_ancestors(&failed), expected);
    // Other companies and the API keep the default.
    assert_eq!(
        frame_ancestors(&app.page(&ann.hostname, "/login").await),
        "frame-ancestors 'self'"
    );
    let api = app
        .client
        .post(format!("http://{}/enterprise_api/company/get", app.addr))
        .header("host", &r.api_host)
        .json(&json!({"auth_token": r.admin_token, "company_id": joe.company_id}))
        .send()
        .await
        .expect("api");
    assert_eq!(frame_ancestors(&api), "frame-ancestors 'self'");
    // Invalid origins are named and change nothing.
    for bad in [
        "partner.example",
        "https://partner.example/path",
        "ftp://partner.example",
        "https://x.example; script-src *",
    ] {
        let (status, body) = app
            .call(
                &r.api_host,
                &r.admin_token,
                "company/update",
                json!({"company_id": joe.company_id, "embed_origins": ["https://ok.example", bad]}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            body["message"]
                .as_str()
                .expect("message")
                .starts_with("embed_origins[1]"),
            "{body}"
        );
    }
    assert_eq!(
        frame_ancestors(&app.page(&joe.hostname, "/login").await),
        expected
    );
    app.ok(
        &r.api_host,
        &r.admin_token,
        "company/update",
        json!({"company_id": joe.company_id, "embed_origins": []}),
    )
    .await;
    assert_eq!(
        frame_ancestors(&app.page(&joe.hostname, "/login").await),
        "frame-ancestors 'self'"
    );
}
