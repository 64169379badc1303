//! Sessions, API tokens, expiry, logout and login rate limits.

use reqwest::StatusCode;
use serde_json::json;

use crate::{
    helpers::{Backend, TestApp},
    on_each_backend,
};

on_each_backend!(api_tokens_work_in_every_position_until_revoked);

async fn api_tokens_work_in_every_position_until_revoked(app: TestApp) {
    let r = app.alpha.clone();
    let created = app
        .ok(
            &r.api_host,
            &r.admin_token,
            "api_token/create",
            json!({"name": "billing"}),
        )
        .await;
    let secret = created["api_token"]
        .as_str()
        .expect("api_token")
        .to_string();
    assert!(secret.starts_with("cfk_"));
    let id = created["id"].as_i64().expect("id");

    // ?api_token= on the query string.
    let response = app
        .client
        .post(format!(
            "http://{}/enterprise_api/company/list?api_token={secret}",
            app.addr
        ))
        .header("host", &r.api_host)
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    // Authorization: Bearer.
    let response = app
        .client
        .post(format!("http://{}/enterprise_api/company/list", app.addr))
        .header("host", &r.api_host)
        .bearer_auth(&secret)
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);

    // Listed without the secret, with its last use.
    let listed = app
        .ok(&r.api_host, &r.admin_token, "api_token/list", json!({}))
        .await;
    let tokens = listed["api_tokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].get("api_token").is_none());
    assert!(tokens[0]["last_used_at"].is_string());
    assert!(!listed.to_string().contains(&secret));

    // Only the hash is stored.
    let stored: i64 = {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) AS n FROM api_tokens WHERE token_hash = $1")
            .bind(secret.clone())
            .fetch_one(&app.state.db.pool)
            .await
            .expect("query")
            .try_get("n")
            .expect("n")
    };
    assert_eq!(stored, 0, "the plaintext token must not be stored");

    app.ok(
        &r.api_host,
        &r.admin_token,
        "api_token/revoke",
        json!({"api_token_id": id}),
    )
    .await;
    let (status, body) = app
        .call(&r.api_host, &secret, "company/list", json!({}))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Invalid token"))
    );
    let (status, _) = app
        .call(
            &r.api_host,
            &r.admin_token,
            "api_token/revoke",
            json!({"api_token_id": id}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

on_each_backend!(logout_ends_the_session);

async fn logout_ends_the_session(app: TestApp) {
    let r = app.alpha.clone();
    let token = app.login(&r.api_host, &r.admin_email, "Sup3rSecret!").await;
    app.ok(&r.api_host, &token, "logout", json!({})).await;
    let (status, body) = app
        .call(&r.api_host, &token, "company/list", json!({}))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Invalid token"))
    );
    // The other session of the same admin is untouched.
    app.ok(&r.api_host, &r.admin_token, "company/list", json!({}))
        .await;
    // Missing token.
    let (status, body) = app.api(&r.api_host, "company/list", json!({})).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Missing auth_token"))
    );
    let (status, body) = app
        .call(&r.api_host, "not-a-token", "company/list", json!({}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
}

async fn expired_sessions_say_so(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.session_ttl_secs = 1).await;
    let r = app.alpha.clone();
    // The token made at start-up has a one-second lifetime.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, body) = app
        .call(&r.api_host, &r.admin_token, "company/list", json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "Session expired");
    assert_eq!(body["error"], "session_expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_say_so_sqlite() {
    expired_sessions_say_so(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_say_so_postgres() {
    if crate::helpers::postgres_enabled() {
        expired_sessions_say_so(Backend::Postgres).await;
    }
}

on_each_backend!(logins_are_rate_limited);

async fn logins_are_rate_limited(app: TestApp) {
    let r = app.alpha.clone();
    // The default allows 10 attempts per account per minute; the fixture used one.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let (status, _) = app
            .api(
                &r.api_host,
                "authenticate",
                json!({"email": r.admin_email, "password": "wrong password"}),
            )
            .await;
        statuses.push(status.as_u16());
    }
    assert!(statuses[..9].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(*statuses.last().expect("last"), 429, "{statuses:?}");
    let response = app
        .client
        .post(format!("http://{}/enterprise_api/authenticate", app.addr))
        .header("host", &r.api_host)
        .json(&json!({"email": r.admin_email, "password": "Sup3rSecret!"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"], "rate_limited");
    // Another account from the same address is still allowed (per-address budget is 30).
    let (status, _) = app
        .api(
            &app.beta.api_host,
            "authenticate",
            json!({"email": app.beta.admin_email, "password": "Sup3rSecret!"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}
