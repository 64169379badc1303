//! Themes: per-tenant product names, colours and logos; no trace of the software's own name in a
//! branded tenant's pages and emails; validation; precedence; cache-busting stylesheet URLs.

use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, TestReseller},
    on_each_backend,
    sso::signable,
};

/// Bytes that pass as a PNG (the server only checks the signature).
fn fake_png(tag: &str) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(tag.as_bytes());
    bytes
}

async fn set_theme(app: &TestApp, r: &TestReseller, body: Value) -> Value {
    app.ok(&r.api_host, &r.admin_token, "theme/update", body)
        .await
}

async fn html(app: &TestApp, host: &str, path: &str) -> String {
    app.page(host, path).await.text().await.expect("html")
}

/// The value of the first `attr="..."` after `marker` in `html`.
fn attr_after(html: &str, marker: &str, attr: &str) -> String {
    let from = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let rest = &html[from..];
    let start = rest.find(&format!("{attr}=\"")).expect("attribute") + attr.len() + 2;
    rest[start..].split('"').next().expect("value").to_string()
}

fn css_href(html: &str) -> String {
    attr_after(html, "rel=\"stylesheet\"", "href")
}

/// Every `<script src>` of a page, in order.
fn script_srcs(html: &str) -> Vec<String> {
    html.split("<script src=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(src, _)| src.to_string()))
        .collect()
}

on_each_backend!(tenants_render_their_own_brand);

async fn tenants_render_their_own_brand(app: TestApp) {
    let (a, b) = (app.alpha.clone(), app.beta.clone());
    let joe = signable(&app, &a, "joe").await;
    let ann = signable(&app, &a, "ann").await;
    let bea = signable(&app, &b, "joe").await;
    set_theme(
        &app,
        &a,
        json!({"product_name": "Alpha Cloud", "primary_color": "#FF0000",
               "logo": STANDARD.encode(fake_png("alpha")), "support_url": "https://help.alpha.test/"}),
    )
    .await;
    set_theme(
        &app,
        &b,
        json!({"product_name": "Beta Rooms", "theme": "dark", "primary_color": "#0000ff",
               "logo": STANDARD.encode(fake_png("beta"))}),
    )
    .await;
    // Company joe of alpha overrides the name and primary colour only.
    let joe_theme = set_theme(
        &app,
        &a,
        json!({"company_id": joe.company_id, "product_name": "Joe Meet", "primary_color": "#00ff00"}),
    )
    .await;
    assert_eq!(joe_theme["company_id"], joe.company_id);
    assert_eq!(joe_theme["stored"]["product_name"], "Joe Meet");
    assert_eq!(joe_theme["stored"]["logo_url"], Value::Null);
    assert_eq!(joe_theme["effective"]["primary_color"], "#00ff00");
    assert_eq!(joe_theme["effective"]["theme"], "light");
    assert_eq!(
        joe_theme["effective"]["support_url"],
        "https://help.alpha.test/"
    );

    let mut seen_css = Vec::new();
    for (host, product, primary, logo_tag, dark) in [
        (&joe.hostname, "Joe Meet", "#00ff00", "alpha", false),
        (&ann.hostname, "Alpha Cloud", "#ff0000", "alpha", false),
        (&bea.hostname, "Beta Rooms", "#0000ff", "beta", true),
    ] {
        // The same path on each tenant.
        let page = html(&app, host, "/").await;
        assert!(
            page.contains(&format!("<title>{product}</title>")),
            "{host}: {page}"
        );
        assert!(!page.contains("Alpha Video") && !page.contains("Beta Meet"));
        let href = css_href(&page);
        assert!(href.starts_with("/theme/") && href.ends_with(".css"));
        let css = app.page(host, &href).await;
        assert_eq!(
            css.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        let css = css.text().await.expect("css");
        assert!(
            css.contains(&format!("--primary: {primary};")),
            "{host}: {css}"
        );
        assert_eq!(css.contains("color-scheme: dark"), dark, "{host}");
        seen_css.push(href);
        let logo = attr_after(&page, "id=\"brand-logo\"", "src");
        let image = app.page(host, &logo).await;
        assert_eq!(image.status(), StatusCode::OK);
        assert_eq!(image.headers()[header::CONTENT_TYPE], "image/png");
        assert_eq!(
            image.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            image.bytes().await.expect("logo").as_ref(),
            fake_png(logo_tag)
        );
        // `?hideLogo=1` hides it for embedders.
        let hidden = html(&app, host, "/?hideLogo=1").await;
        assert!(!hidden.contains("brand-logo"), "{host}: {hidden}");
        assert!(hidden.contains(product));
    }
    seen_css.dedup();
    assert_eq!(seen_css.len(), 3, "each tenant has its own stylesheet");
    // A logo is served only on its own reseller's domains.
    let alpha_logo = attr_after(
        &html(&app, &ann.hostname, "/").await,
        "id=\"brand-logo\"",
        "src",
    );
    assert_eq!(
        app.page(&bea.hostname, &alpha_logo).await.status(),
        StatusCode::NOT_FOUND
    );
    // Only ann's footer links to alpha's help page; beta set none.
    assert!(
        html(&app, &ann.hostname, "/")
            .await
            .contains("https://help.alpha.test/")
    );
    assert!(
        !html(&app, &bea.hostname, "/")
            .await
            .contains("Help and support")
    );

    // Clearing the company's name makes it inherit the reseller's again.
    set_theme(
        &app,
        &a,
        json!({"company_id": joe.company_id, "product_name": ""}),
    )
    .await;
    assert!(
        html(&app, &joe.hostname, "/")
            .await
            .contains("<title>Alpha Cloud</title>")
    );
    let got = app
        .ok(&a.api_host, &a.admin_token, "theme/get", json!({}))
        .await;
    assert_eq!(got["company_id"], Value::Null);
    assert_eq!(got["stored"]["product_name"], "Alpha Cloud");
    assert_eq!(got["effective"]["primary_color"], "#ff0000");
}

on_each_backend!(branded_tenant_never_names_the_software);

async fn branded_tenant_never_names_the_software(app: TestApp) {
    let a = app.alpha.clone();
    set_theme(
        &app,
        &a,
        json!({"product_name": "Alpha Cloud", "sender_name": "Alpha Cloud Team",
               "sender_email": "hello@mail.alpha.test", "theme": "dark"}),
    )
    .await;
    let joe = signable(&app, &a, "joe").await;
    // A host created with a welcome email.
    let created = app
        .ok(
            &a.api_host,
            &a.admin_token,
            "host/create",
            json!({"company_id": joe.company_id, "name": "New Host", "email": "new@joe.tld"}),
        )
        .await;
    let link = created["password_creation_link"].as_str().expect("link");
    let password_path = link[link.find("/password/").expect("path")..].to_string();
    // A conference with a guest invitation.
    app.ok(
        &a.api_host,
        &a.admin_token,
        "conference/create",
        json!({"host_id": joe.host_id, "subject": "Planning", "start": "2031-03-01 10:00:00",
               "time_zone": "Europe/Paris", "duration": 30,
               "participant_emails": [{"email": "guest@outside.tld"}]}),
    )
    .await;

    let mut scanned = Vec::new();
    let (browser, _) = app.browser(&[&joe.hostname]);
    let get = |path: String| {
        let browser = browser.clone();
        let url = app.url(&joe.hostname, &path);
        async move { browser.get(url).send().await.expect("get") }
    };
    let pages = vec![
        "/".to_string(),
        "/login".to_string(),
        format!("/conf/call/{}", joe.access_code),
        format!("/livestream/{}", joe.access_code),
        "/livestream/9999999".to_string(),
        password_path,
        "/no/such/page".to_string(),
        "/auth".to_string(),
        "/conf/call/9999999".to_string(),
        // Signed in (below) for this one.
        "/conf/calls/upcoming".to_string(),
    ];
    for path in pages {
        if path == "/conf/calls/upcoming" {
            let login = get("/login".into()).await.text().await.expect("login");
            let csrf = attr_after(&login, "name=\"csrf\"", "value");
            let signed_in = browser
                .post(app.url(&joe.hostname, "/login"))
                .form(&[
                    ("email", joe.email.as_str()),
                    ("password", "HostPass123"),
                    ("csrf", &csrf),
                ])
                .send()
                .await
                .expect("sign in");
            assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        }
        let response = get(path.clone()).await;
        let status = response.status();
        if path.ends_with("/9999999") {
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        }
        let headers = format!("{:?}", response.headers());
        let body = response.text().await.expect("body");
        assert!(
            body.contains("Alpha Cloud"),
            "{path} ({status}) is not branded: {body}"
        );
        // The stylesheet the page loads is part of what the visitor sees.
        let css = get(css_href(&body)).await.text().await.expect("css");
        // So are the scripts it runs: their names show in any browser's developer tools.
        let mut scripts = String::new();
        for src in script_srcs(&body) {
            // Versioned by content: a release's scripts are fetched anew, then kept for a year.
            assert!(src.contains("?v="), "{path}: {src}");
            let script = get(src.clone()).await;
            let cache = script.headers()[reqwest::header::CACHE_CONTROL].clone();
            assert_eq!(cache, "public, max-age=31536000, immutable", "{src}");
            scripts += &script.text().await.expect("script");
        }
        scanned.push((path, format!("{headers}\n{body}\n{css}\n{scripts}")));
    }
    let welcome = app.wait_for_mail("new@joe.tld").await;
    let invite = app.wait_for_mail("guest@outside.tld").await;
    for mail in [&welcome, &invite] {
        assert!(mail.data.contains("Alpha Cloud Team"), "{}", mail.data);
        assert_eq!(mail.from, "hello@mail.alpha.test");
        scanned.push((format!("mail to {:?}", mail.to), mail.data.clone()));
    }
    assert!(
        invite.data.contains("PRODID:-//Alpha Cloud//"),
        "{}",
        invite.data
    );
    for (what, text) in &scanned {
        assert!(
            !text.to_ascii_lowercase().contains("confab"),
            "{what} names the software: {text}"
        );
    }
}

on_each_backend!(invalid_theme_input_is_refused_and_nothing_changes);

async fn invalid_theme_input_is_refused_and_nothing_changes(app: TestApp) {
    let a = app.alpha.clone();
    let joe = signable(&app, &a, "joe").await;
    set_theme(
        &app,
        &a,
        json!({"product_name": "Alpha Cloud", "primary_color": "#123456"}),
    )
    .await;
    let before = app
        .ok(&a.api_host, &a.admin_token, "theme/get", json!({}))
        .await;
    let images = app.count("brand_images").await;
    let svg = STANDARD
        .encode("<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>");
    let big_png = STANDARD.encode([fake_png("x"), vec![0; 300 * 1024]].concat());
    let big_favicon = STANDARD.encode([fake_png("x"), vec![0; 70 * 1024]].concat());
    let good_logo = STANDARD.encode(fake_png("fine"));
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"primary_color": "red"}),
            "primary_color: `red` is not a colour",
        ),
        (json!({"accent_color": "#12345"}), "accent_color:"),
        (
            json!({"background_color": "#fff;}body{x"}),
            "background_color:",
        ),
        (json!({"text_color": "rgb(0,0,0)"}), "text_color:"),
        (
            json!({"theme": "purple"}),
            "theme: `purple` is not a built-in theme (light, dark)",
        ),
        (
            json!({"support_url": "javascript:alert(1)"}),
            "support_url: must be an http or https URL",
        ),
        (
            json!({"support_url": "not a url"}),
            "support_url: is not a URL",
        ),
        (json!({"sender_email": "not-an-address"}), "sender_email:"),
        (
            json!({"product_name": "x".repeat(201)}),
            "product_name: must be at most 200 characters",
        ),
        (
            json!({"logo": svg}),
            "logo: must be a PNG, JPEG or WebP image (SVG is not accepted)",
        ),
        (json!({"logo": "%%%"}), "logo: is not valid base64"),
        (json!({"logo": big_png}), "logo: must be at most 256 KiB"),
        (
            json!({"favicon": big_favicon}),
            "favicon: must be at most 64 KiB",
        ),
        (json!({"primary_color": 5}), "primary_color"),
        (json!({"colour": "#fff"}), "unknown field `colour`"),
        // A good field next to a bad one: nothing of the request is written.
        (
            json!({"logo": good_logo, "product_name": "New", "accent_color": "blue"}),
            "accent_color:",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = app
            .call(&a.api_host, &a.admin_token, "theme/update", body.clone())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        let message = answer["message"].as_str().expect("message");
        assert!(message.contains(expected), "{body}: {message}");
    }
    let after = app
        .ok(&a.api_host, &a.admin_token, "theme/get", json!({}))
        .await;
    assert_eq!(before["stored"], after["stored"]);
    assert_eq!(app.count("brand_images").await, images);

    // Roles: hosts may not, company admins only for their own company.
    let (_, host_token) = app.host(&a, joe.company_id, "plain@joe.tld", "HOST").await;
    let (_, admin_token) = app
        .host(&a, joe.company_id, "boss@joe.tld", "COMPANY_ADMIN")
        .await;
    let other = app.company(&a, "other").await;
    let (status, _) = app
        .call(
            &a.api_host,
            &host_token,
            "theme/update",
            json!({"company_id": joe.company_id}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call(
            &a.api_host,
            &admin_token,
            "theme/update",
            json!({"primary_color": "#000"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call(
            &a.api_host,
            &admin_token,
            "theme/get",
            json!({"company_id": other}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let own = app
        .ok(
            &a.api_host,
            &admin_token,
            "theme/update",
            json!({"company_id": joe.company_id, "accent_color": "#abc"}),
        )
        .await;
    assert_eq!(own["effective"]["accent_color"], "#abc");
    assert_eq!(own["effective"]["primary_color"], "#123456");
    // Another reseller's admin cannot see this company at all.
    let (status, _) = app
        .call(
            &app.beta.api_host,
            &app.beta.admin_token,
            "theme/get",
            json!({"company_id": joe.company_id}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

on_each_backend!(stylesheet_url_follows_the_theme);

async fn stylesheet_url_follows_the_theme(app: TestApp) {
    let a = app.alpha.clone();
    let joe = signable(&app, &a, "joe").await;
    let first = css_href(&html(&app, &joe.hostname, "/").await);
    set_theme(&app, &a, json!({"primary_color": "#abcdef"})).await;
    let second = css_href(&html(&app, &joe.hostname, "/").await);
    assert_ne!(first, second, "a theme change shows on the next page load");
    // A page cached with the old URL still gets today's stylesheet, but not cached under it.
    let stale = app.page(&joe.hostname, &first).await;
    assert_eq!(stale.headers()[header::CACHE_CONTROL], "no-cache");
    assert!(stale.text().await.expect("css").contains("#abcdef"));
    // Unknown hostnames get the neutral look.
    let unknown = html(&app, "nobody.test", "/").await;
    assert!(unknown.contains("/theme/"), "{unknown}");
}

on_each_backend!(companies_hide_meeting_controls);

async fn companies_hide_meeting_controls(app: TestApp) {
    let a = app.alpha.clone();
    let joe = signable(&app, &a, "joe").await;
    let meeting = format!("/conf/call/{}", joe.access_code);
    assert!(
        html(&app, &joe.hostname, &meeting)
            .await
            .contains("data-hidden-controls=\"\"")
    );
    let updated = app
        .ok(
            &a.api_host,
            &a.admin_token,
            "company/update",
            json!({"company_id": joe.company_id, "hidden_controls": ["Recording", "invite", "recording"]}),
        )
        .await;
    assert_eq!(updated["hidden_controls"], json!(["recording", "invite"]));
    let got = app
        .ok(
            &a.api_host,
            &a.admin_token,
            "company/get",
            json!({"company_id": joe.company_id}),
        )
        .await;
    assert_eq!(got["hidden_controls"], json!(["recording", "invite"]));
    let page = html(&app, &joe.hostname, &meeting).await;
    assert!(
        page.contains("data-hidden-controls=\"recording,invite\""),
        "{page}"
    );
    // The live stream player honours the company's `fullscreen` too.
    let player = format!("/livestream/{}", joe.access_code);
    assert!(
        html(&app, &joe.hostname, &player)
            .await
            .contains("id=\"fullscreen\"")
    );
    app.ok(
        &a.api_host,
        &a.admin_token,
        "company/update",
        json!({"company_id": joe.company_id, "hidden_controls": ["fullscreen"]}),
    )
    .await;
    let hidden = html(&app, &joe.hostname, &player).await;
    assert!(!hidden.contains("id=\"fullscreen\""), "{hidden}");
    app.ok(
        &a.api_host,
        &a.admin_token,
        "company/update",
        json!({"company_id": joe.company_id, "hidden_controls": ["recording", "invite"]}),
    )
    .await;
    let (status, answer) = app
        .call(
            &a.api_host,
            &a.admin_token,
            "company/update",
            json!({"company_id": joe.company_id, "name": "Renamed", "hidden_controls": ["camera", "teleport"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("hidden_controls: `teleport` is not a meeting control")),
        "{answer}"
    );
    let got = app
        .ok(
            &a.api_host,
            &a.admin_token,
            "company/get",
            json!({"company_id": joe.company_id}),
        )
        .await;
    assert_eq!(got["hidden_controls"], json!(["recording", "invite"]));
    assert_ne!(got["name"], "Renamed");
}
