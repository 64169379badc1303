//! Forms and sign-in refuse requests another site makes a browser send: a CSRF token is an HMAC
//! the attacker cannot forge even when it can plant the cookie, forms must come from a page of the
//! same host, and `POST /auth` is accepted from a browser only on the company's own domain or an
//! origin the company lets embed it.

use reqwest::{StatusCode, header};
use serde_json::json;

use crate::{
    helpers::TestApp,
    on_each_backend,
    sso::{Signable, signable},
};

on_each_backend!(forms_refuse_forged_tokens_and_foreign_origins);
on_each_backend!(auth_posts_only_from_allowed_origins);

fn csrf_field(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("csrf field") + marker.len();
    html[start..].split('"').next().expect("value").to_string()
}

/// Posts the login form of `joe` with a given cookie header and extra headers.
async fn post_login(
    app: &TestApp,
    joe: &Signable,
    cookie: &str,
    csrf: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("http://{}/login", app.addr))
        .header("host", &joe.hostname)
        .header(header::COOKIE, cookie);
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request
        .form(&[
            ("email", joe.email.as_str()),
            ("password", "HostPass123"),
            ("csrf", csrf),
        ])
        .send()
        .await
        .expect("post")
}

/// The login form's cookie (`name=value`) and token on `hostname`.
async fn login_form(app: &TestApp, hostname: &str) -> (String, String) {
    let page = app.page(hostname, "/login").await;
    let cookie = page.headers()[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("pair")
        .to_string();
    (cookie, csrf_field(&page.text().await.expect("html")))
}

fn signed_in(response: &reqwest::Response) -> bool {
    response.status() == StatusCode::SEE_OTHER
        && response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|c| c.to_str().is_ok_and(|c| c.starts_with("mtg_session=")))
}

async fn forms_refuse_forged_tokens_and_foreign_origins(app: TestApp) {
    let joe = signable(&app, &app.alpha, "joe").await;
    let ann = signable(&app, &app.alpha, "ann").await;

    // A cookie/field pair of the attacker's choosing (planted from a sibling subdomain, say).
    let planted = "A".repeat(43);
    let forged = post_login(&app, &joe, &format!("mtg_csrf={planted}"), &planted, &[]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(!signed_in(&forged));

    // A token made for another company's domain is worthless here, even with its cookie.
    let (ann_cookie, ann_token) = login_form(&app, &ann.hostname).await;
    let crossed = post_login(&app, &joe, &ann_cookie, &ann_token, &[]).await;
    assert_eq!(crossed.status(), StatusCode::FORBIDDEN);

    // A real token, sent by a page of another site or of a sibling tenant.
    let (cookie, token) = login_form(&app, &joe.hostname).await;
    for foreign in [
        [("origin", "https://evil.example")],
        [("origin", "http://ann.alpha.test")],
        [("origin", "null")],
        [("sec-fetch-site", "cross-site")],
        [("sec-fetch-site", "same-site")],
    ] {
        let refused = post_login(&app, &joe, &cookie, &token, &foreign).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{foreign:?}");
        assert!(!signed_in(&refused), "{foreign:?}");
    }

    // From the page itself it works.
    let origin = format!("http://{}", joe.hostname);
    let ok = post_login(
        &app,
        &joe,
        &cookie,
        &token,
        &[("origin", &origin), ("sec-fetch-site", "same-origin")],
    )
    .await;
    assert!(signed_in(&ok), "{:?}", ok.status());
}

async fn post_auth(app: &TestApp, joe: &Signable, origin: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("http://{}/auth", app.addr))
        .header("host", &joe.hostname);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request
        .form(&[
            ("host_id", joe.host_id.to_string().as_str()),
            ("login_token_public_key", joe.login_key.as_str()),
        ])
        .send()
        .await
        .expect("post /auth")
}

async fn auth_posts_only_from_allowed_origins(app: TestApp) {
    let joe = signable(&app, &app.alpha, "joe").await;
    // A page on any other site could otherwise sign its visitors in as this host (login CSRF).
    let refused = post_auth(&app, &joe, Some("https://evil.example")).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(!signed_in(&refused));
    let page = refused.text().await.expect("html");
    assert!(page.contains("embed_origins"), "{page}");

    // The company's own domain, servers (no Origin), and the origins it allows to embed it.
    let own = format!("http://{}", joe.hostname);
    assert!(signed_in(&post_auth(&app, &joe, Some(&own)).await));
    assert!(signed_in(&post_auth(&app, &joe, None).await));
    let partner = "https://app.partner.example";
    assert!(!signed_in(&post_auth(&app, &joe, Some(partner)).await));
    app.ok(
        &app.alpha.api_host,
        &app.alpha.admin_token,
        "company/update",
        json!({"company_id": joe.company_id, "embed_origins": [partner]}),
    )
    .await;
    assert!(signed_in(&post_auth(&app, &joe, Some(partner)).await));
}
