//! `/auth` single sign-on: login keys and signed login tokens, redirects, cookies, failures.

use reqwest::{StatusCode, header};
use serde_json::json;

use crate::{
    helpers::{Backend, TestApp, TestReseller},
    on_each_backend,
};

/// A host of a fresh company, with the secrets `/auth` needs.
#[derive(Clone)]
pub struct Signable {
    pub company_id: i64,
    pub hostname: String,
    pub host_id: i64,
    pub name: String,
    pub email: String,
    pub login_key: String,
    pub access_code: String,
    pub meeting_url: String,
}

/// Creates company `subdomain` under `reseller` with one host (password `HostPass123`).
pub async fn signable(app: &TestApp, reseller: &TestReseller, subdomain: &str) -> Signable {
    let company_id = app.company(reseller, subdomain).await;
    let domain = reseller.api_host.trim_start_matches("reseller-admin.");
    let email = format!("host@{subdomain}.{domain}");
    let name = format!("Host of {subdomain}");
    let created = app
        .ok(
            &reseller.api_host,
            &reseller.admin_token,
            "host/create",
            json!({"company_id": company_id, "name": name, "email": email,
                   "password": "HostPass123", "no_welcome_email": true}),
        )
        .await;
    Signable {
        company_id,
        hostname: format!("{subdomain}.{domain}"),
        host_id: created["host_id"].as_i64().expect("host_id"),
        name,
        email,
        login_key: created["login_token_public_key"]
            .as_str()
            .expect("key")
            .to_string(),
        access_code: created["access_code"]["number"]
            .as_str()
            .expect("code")
            .to_string(),
        meeting_url: created["meeting_url"].as_str().expect("url").to_string(),
    }
}

/// `GET /auth?<query>` on `hostname`, without a cookie jar.
pub async fn auth_get(app: &TestApp, hostname: &str, query: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .get(format!("http://{}/auth", app.addr))
        .header("host", hostname)
        .query(query)
        .send()
        .await
        .expect("GET /auth")
}

pub fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_string())
        .collect()
}

/// The `Set-Cookie` line of the session cookie.
pub fn session_cookie(response: &reqwest::Response) -> String {
    set_cookies(response)
        .into_iter()
        .find(|c| c.starts_with("mtg_session="))
        .unwrap_or_else(|| panic!("no session cookie in {:?}", response.headers()))
}

/// `name=value` of a `Set-Cookie` line, to send back in a `Cookie` header.
pub fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().expect("pair").to_string()
}

pub fn location(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().expect("ascii").to_string())
}

/// `GET` a page on `hostname` with a `Cookie` header.
pub async fn page_with_cookie(
    app: &TestApp,
    hostname: &str,
    path: &str,
    cookie: &str,
) -> reqwest::Response {
    app.client
        .get(format!("http://{}{path}", app.addr))
        .header("host", hostname)
        .header(header::COOKIE, cookie)
        .send()
        .await
        .expect("GET page")
}

on_each_backend!(auth_by_get_and_post_opens_a_session_and_redirects);

async fn auth_by_get_and_post_opens_a_session_and_redirects(app: TestApp) {
    let joe = signable(&app, &app.alpha, "joe").await;
    let room = format!("/conf/call/{}", joe.access_code);
    // GET, as an iframe src: session cookie only, straight to the meeting room.
    let response = auth_get(
        &app,
        &joe.hostname,
        &[
            ("host_id", &joe.host_id.to_string()),
            ("login_token_public_key", &joe.login_key),
            ("redirect_url", &room),
            ("after_call_url", "https://partner.example/after"),
            ("remember_me", "0"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response).as_deref(), Some(room.as_str()));
    let cookie = session_cookie(&response);
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(
        cookie.contains("SameSite=Lax"),
        "plain http uses Lax: {cookie}"
    );
    assert!(
        !cookie.contains("Max-Age"),
        "remember_me=0 is a session cookie: {cookie}"
    );
    {
        use sqlx::Row;
        let stored: Option<String> =
            sqlx::query("SELECT after_call_url FROM browser_sessions WHERE host_id = $1")
                .bind(joe.host_id)
                .fetch_one(&app.state.db.pool)
                .await
                .expect("session row")
                .try_get("after_call_url")
                .expect("after_call_url");
        assert_eq!(stored.as_deref(), Some("https://partner.example/after"));
    }
    // The cookie signs the host in on this company domain.
    let upcoming =
        page_with_cookie(&app, &joe.hostname, "/conf/calls/upcoming", &pair(&cookie)).await;
    assert_eq!(upcoming.status(), StatusCode::OK);
    let html = upcoming.text().await.expect("html");
    assert!(
        html.contains(&joe.name) && html.contains(&joe.meeting_url),
        "{html}"
    );
    assert!(html.contains("no upcoming conferences"), "{html}");

    // POST as a form, replacing the earlier session (a fresh value: no session fixation).
    let response = app
        .client
        .post(format!("http://{}/auth", app.addr))
        .header("host", &joe.hostname)
        .header(header::COOKIE, pair(&cookie))
        .form(&[
            ("host_id", joe.host_id.to_string()),
            ("login_token_public_key", joe.login_key.clone()),
        ])
        .send()
        .await
        .expect("POST /auth");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response).as_deref(), Some("/conf/calls/upcoming"));
    let second = session_cookie(&response);
    assert_ne!(pair(&second), pair(&cookie));
    assert!(
        second.contains("Max-Age="),
        "remembered by default: {second}"
    );
    let old = page_with_cookie(&app, &joe.hostname, "/conf/calls/upcoming", &pair(&cookie)).await;
    assert_eq!(
        old.status(),
        StatusCode::SEE_OTHER,
        "the replaced session ended"
    );
    assert_eq!(app.count("browser_sessions").await, 1);

    // POST as JSON with a numeric host id, as in the reference document.
    let response = app
        .client
        .post(format!("http://{}/auth", app.addr))
        .header("host", &joe.hostname)
        .json(&json!({"host_id": joe.host_id, "login_token_public_key": joe.login_key,
                      "redirect_url": "/conf/calls/upcoming", "after_call_url": "https://en.wikipedia.org"}))
        .send()
        .await
        .expect("POST /auth json");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let third = session_cookie(&response);
    let upcoming =
        page_with_cookie(&app, &joe.hostname, "/conf/calls/upcoming", &pair(&third)).await;
    assert_eq!(upcoming.status(), StatusCode::OK);
}

pub async fn expect_401_page(response: reqwest::Response) -> String {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers().get(header::SET_COOKIE).is_none(),
        "no cookie on failure"
    );
    let html = response.text().await.expect("html");
    assert!(
        html.contains("<html") && html.contains("Not allowed"),
        "{html}"
    );
    html
}

on_each_backend!(auth_refuses_wrong_keys_other_companies_and_other_resellers);

async fn auth_refuses_wrong_keys_other_companies_and_other_resellers(app: TestApp) {
    let joe = signable(&app, &app.alpha, "joe").await;
    let ann = signable(&app, &app.alpha, "ann").await;
    let bea = signable(&app, &app.beta, "bea").await;
    let id = joe.host_id.to_string();
    let key = |k: &str| {
        vec![
            ("host_id", id.clone()),
            ("login_token_public_key", k.to_string()),
        ]
    };
    let send = |hostname: String, query: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            auth_get(app, &hostname, &query).await
        }
    };
    // Wrong key, themed with the company's brand.
    let html = expect_401_page(send(joe.hostname.clone(), key("wrong-key")).await).await;
    assert!(html.contains("Alpha Video"), "{html}");
    // The right key on another company's domain of the same reseller.
    expect_401_page(send(ann.hostname.clone(), key(&joe.login_key)).await).await;
    // The right key on another reseller's company domain.
    expect_401_page(send(bea.hostname.clone(), key(&joe.login_key)).await).await;
    // Another host's key with joe's id.
    expect_401_page(send(joe.hostname.clone(), key(&ann.login_key)).await).await;
    // Unknown host id.
    let unknown = vec![
        ("host_id", "999999".to_string()),
        ("login_token_public_key", joe.login_key.clone()),
    ];
    expect_401_page(send(joe.hostname.clone(), unknown).await).await;
    // Missing or malformed fields are named.
    let response = send(joe.hostname.clone(), vec![("host_id", id.clone())]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .expect("html")
            .contains("login_token_public_key")
    );
    let response = send(
        joe.hostname.clone(),
        vec![
            ("host_id", "abc".into()),
            ("login_token_public_key", "x".into()),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.count("browser_sessions").await, 0);

    // A reset key replaces the old one.
    let reset = app
        .ok(
            &app.alpha.api_host,
            &app.alpha.admin_token,
            "host/reset_login_token",
            json!({"host_id": joe.host_id}),
        )
        .await;
    let new_key = reset["login_token_public_key"].as_str().expect("key");
    expect_401_page(send(joe.hostname.clone(), key(&joe.login_key)).await).await;
    let response = send(joe.hostname.clone(), key(new_key)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

on_each_backend!(auth_refuses_open_redirects);

async fn auth_refuses_open_redirects(app: TestApp) {
    let joe = signable(&app, &app.alpha, "joe").await;
    let id = joe.host_id.to_string();
    for target in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/\t/evil.example",
    ] {
        let response = auth_get(
            &app,
            &joe.hostname,
            &[
                ("host_id", &id),
                ("login_token_public_key", &joe.login_key),
                ("redirect_url", target),
            ],
        )
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{target:?}");
        assert!(location(&response).is_none(), "{target:?}");
        let html = response.text().await.expect("html");
        assert!(html.contains("redirect_url"), "{target:?}: {html}");
    }
    let response = auth_get(
        &app,
        &joe.hostname,
        &[
            ("host_id", &id),
            ("login_token_public_key", &joe.login_key),
            ("after_call_url", "javascript:alert(1)"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.count("browser_sessions").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_failures_are_rate_limited_per_address() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| {
        c.auth_failures_per_address_per_minute = 3
    })
    .await;
    let joe = signable(&app, &app.alpha, "joe").await;
    let id = joe.host_id.to_string();
    for _ in 0..4 {
        let response = auth_get(
            &app,
            &joe.hostname,
            &[("host_id", &id), ("login_token_public_key", "wrong")],
        )
        .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right key waits now: failures are limited before the key is checked.
    let response = auth_get(
        &app,
        &joe.hostname,
        &[("host_id", &id), ("login_token_public_key", &joe.login_key)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get(header::RETRY_AFTER).is_some());
}
