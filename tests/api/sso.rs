//! `/auth` single sign-on: login keys and signed login tokens, redirects, cookies, failures.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp, TestReseller},
    on_each_backend,
};

/// A host of a fresh company, with the secrets `/auth` needs.
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

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
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
        .find(|c| c.starts_with("confab_session="))
        .unwrap_or_else(|| panic!("no session cookie in {:?}", response.headers()))
}

/// `name=value` of a `Set-Cookie` line, to send back in a `Cookie` header.
pub fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().expect("pair").to_string()
}

fn location(response: &reqwest::Response) -> Option<String> {
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

async fn expect_401_page(response: reqwest::Response) -> String {
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
        .find(|c| c.starts_with("confab_csrf="))
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
