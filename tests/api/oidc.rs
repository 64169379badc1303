//! Company OpenID Connect against a real provider: the certified npm `oidc-provider`, started by
//! each test from `tests/fixtures/oidc-provider` (run `npm ci` there first).

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use reqwest::{StatusCode, Url, header};
use serde_json::json;

use crate::{
    helpers::{ChildGuard, TestApp, free_port, suite_unavailable},
    on_each_backend,
    sso::{Signable, signable},
};

const CLIENT_ID: &str = "confab";
const CLIENT_SECRET: &str = "confab-client-secret";
/// A second client registered at the same provider, with the same redirect URI.
const OTHER_CLIENT_ID: &str = "other-app";

/// A running provider; killed when dropped.
struct Provider {
    _child: ChildGuard,
    issuer: String,
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oidc-provider")
}

/// Starts the provider with our two clients, or `None` (loudly; refused under CI) when its npm
/// packages are not installed.
fn start_provider(redirect_uri: &str) -> Option<Provider> {
    let dir = fixture_dir();
    if !dir.join("node_modules/oidc-provider").is_dir() {
        let message = format!(
            "the OpenID Connect provider is not installed: run `npm ci` in {}",
            dir.display()
        );
        suite_unavailable("OpenID Connect suite", &message);
        return None;
    }
    let port = free_port();
    let clients = json!([
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [redirect_uri]},
        {"client_id": OTHER_CLIENT_ID, "client_secret": "other-secret", "redirect_uris": [redirect_uri]},
    ]);
    let mut child = Command::new("node")
        .arg("server.js")
        .arg(port.to_string())
        .current_dir(&dir)
        .env("OIDC_CLIENTS", clients.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start node (is it installed?)");
    let stdout = child.stdout.take().expect("stdout");
    let child = ChildGuard(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(issuer) = line.strip_prefix("listening ") {
                let _ = tx.send(issuer.to_string());
            }
        }
    });
    let issuer = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the provider did not start within 20 s");
    Some(Provider {
        _child: child,
        issuer,
    })
}

/// A company with OpenID Connect turned on, one host, and a provider that knows our client.
struct Setup {
    joe: Signable,
    provider: Provider,
}

async fn setup(app: &TestApp, settings: serde_json::Value) -> Option<Setup> {
    let joe = signable(app, &app.alpha, "joe").await;
    let r = &app.alpha;
    let redirect_uri = app.url(&joe.hostname, "/auth/oidc/callback");
    let provider = start_provider(&redirect_uri)?;
    // Not allowed before the company's openid_provider switch is on.
    let mut body = json!({"company_id": joe.company_id, "issuer_url": provider.issuer,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "provider_name": "Corp ID"});
    for (key, value) in settings.as_object().expect("object") {
        body[key] = value.clone();
    }
    let (status, answer) = app
        .call(
            &r.api_host,
            &r.admin_token,
            "company/openid/set",
            body.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    app.ok(
        &r.api_host,
        &r.admin_token,
        "company/update",
        json!({"company_id": joe.company_id, "openid_provider": true}),
    )
    .await;
    let saved = app
        .ok(&r.api_host, &r.admin_token, "company/openid/set", body)
        .await;
    assert_eq!(saved["redirect_uri"], redirect_uri);
    let shown = app
        .ok(
            &r.api_host,
            &r.admin_token,
            "company/openid/get",
            json!({"company_id": joe.company_id}),
        )
        .await;
    assert_eq!(shown["client_id"], CLIENT_ID);
    assert!(!shown.to_string().contains(CLIENT_SECRET), "{shown}");
    Some(Setup { joe, provider })
}

/// Goes from `/auth/oidc/start` through the provider's login and consent forms (signing in as
/// `login`) and returns the callback URL the provider sends the browser to, without opening it.
/// `client_id` replaces ours in the authorization request when given.
async fn through_provider(
    app: &TestApp,
    browser: &reqwest::Client,
    hostname: &str,
    login: &str,
    client_id: Option<&str>,
) -> String {
    let mut url =
        Url::parse(&app.url(hostname, "/auth/oidc/start?next=/conf/calls/upcoming")).expect("url");
    let mut form: Option<Vec<(&str, String)>> = None;
    let mut first_provider_hop = true;
    for _ in 0..25 {
        if url.host_str() == Some(hostname) && url.path() == "/auth/oidc/callback" {
            return url.to_string();
        }
        if first_provider_hop
            && url.host_str() != Some(hostname)
            && let Some(replacement) = client_id
        {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "client_id" {
                        replacement.into()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        if url.host_str() != Some(hostname) {
            first_provider_hop = false;
        }
        let request = match form.take() {
            Some(fields) => browser.post(url.clone()).form(&fields),
            None => browser.get(url.clone()),
        };
        let response = request.send().await.expect("request");
        if response.status().is_redirection() {
            let location = response.headers()[header::LOCATION]
                .to_str()
                .expect("ascii");
            url = url.join(location).expect("location");
            continue;
        }
        let status = response.status();
        let body = response.text().await.expect("body");
        assert_eq!(status, StatusCode::OK, "{url}: {body}");
        let action = body
            .split("action=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no form at {url}: {body}"));
        let action = url.join(action).expect("action");
        if body.contains("name=\"prompt\" value=\"login\"") {
            form = Some(vec![
                ("prompt", "login".into()),
                ("login", login.into()),
                ("password", "any password".into()),
            ]);
        } else if body.contains("name=\"prompt\" value=\"consent\"") {
            form = Some(vec![("prompt", "consent".into())]);
        } else {
            panic!("unexpected provider page at {url}: {body}");
        }
        url = action;
    }
    panic!("the provider never sent the browser back");
}

/// Opens the callback in `browser` and returns the response.
async fn callback(browser: &reqwest::Client, url: &str) -> reqwest::Response {
    browser.get(url).send().await.expect("callback")
}

/// Signs in as `login` and returns the upcoming page's HTML, or the refusal's status and HTML.
async fn sign_in(app: &TestApp, hostname: &str, login: &str) -> (StatusCode, String) {
    let (browser, _) = app.browser(&[hostname]);
    let url = through_provider(app, &browser, hostname, login, None).await;
    let response = callback(&browser, &url).await;
    if response.status() != StatusCode::SEE_OTHER {
        let status = response.status();
        return (status, response.text().await.expect("html"));
    }
    assert_eq!(response.headers()[header::LOCATION], "/conf/calls/upcoming");
    let page = browser
        .get(app.url(hostname, "/conf/calls/upcoming"))
        .send()
        .await
        .expect("upcoming");
    (page.status(), page.text().await.expect("html"))
}

on_each_backend!(oidc_signs_hosts_in_by_subject);

async fn oidc_signs_hosts_in_by_subject(app: TestApp) {
    let Some(Setup {
        joe,
        provider: _provider,
    }) = setup(&app, json!({})).await
    else {
        return;
    };
    let r = &app.alpha;
    app.ok(
        &r.api_host,
        &r.admin_token,
        "host/update",
        json!({"host_id": joe.host_id, "openid_sub": "joe-at-corp"}),
    )
    .await;
    let login_page = app.page(&joe.hostname, "/login").await;
    let html = login_page.text().await.expect("html");
    assert!(html.contains("Sign in with Corp ID"), "{html}");

    let (status, html) = sign_in(&app, &joe.hostname, "joe-at-corp").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(&joe.name), "{html}");

    // An unknown subject, and joe's email while email matching is off, are refused.
    let (status, html) = sign_in(&app, &joe.hostname, "stranger").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{html}");
    assert!(html.contains("not linked"), "{html}");
    let (status, _) = sign_in(&app, &joe.hostname, &joe.email).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("hosts").await, 3, "nothing was provisioned");
}

on_each_backend!(oidc_matches_verified_emails_and_provisions_when_allowed);

async fn oidc_matches_verified_emails_and_provisions_when_allowed(app: TestApp) {
    let Some(Setup { joe, provider }) = setup(
        &app,
        json!({"match_email": true, "allowed_email_domain": "joe.alpha.test"}),
    )
    .await
    else {
        return;
    };
    let r = &app.alpha;
    // joe has no openid_sub; its verified email finds it.
    let (status, html) = sign_in(&app, &joe.hostname, &joe.email).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(&joe.name), "{html}");
    // An unverified email does not.
    let (status, _) = sign_in(&app, &joe.hostname, &format!("{}+unverified", joe.email)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Unknown people are refused until provisioning is on.
    let hosts_before = app.count("hosts").await;
    let (status, _) = sign_in(&app, &joe.hostname, "carol@joe.alpha.test").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.ok(
        &r.api_host,
        &r.admin_token,
        "company/openid/set",
        json!({"company_id": joe.company_id, "issuer_url": provider.issuer, "client_id": CLIENT_ID,
               "match_email": true, "provision_hosts": true, "allowed_email_domain": "joe.alpha.test"}),
    )
    .await;
    let (status, html) = sign_in(&app, &joe.hostname, "carol@joe.alpha.test").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Person carol@joe.alpha.test"), "{html}");
    assert_eq!(app.count("hosts").await, hosts_before + 1);
    let listed = app
        .ok(
            &r.api_host,
            &r.admin_token,
            "host/list",
            json!({"company_id": joe.company_id}),
        )
        .await;
    let carol = listed["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .find(|h| h["email"] == "carol@joe.alpha.test")
        .expect("carol provisioned")
        .clone();
    assert_eq!(carol["role"], "HOST");
    assert_eq!(carol["openid_sub"], "carol@joe.alpha.test");
    // The second sign-in finds carol by subject instead of creating her again.
    let (status, _) = sign_in(&app, &joe.hostname, "carol@joe.alpha.test").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.count("hosts").await, hosts_before + 1);
    // Emails outside the allowed domain are neither matched nor provisioned.
    let (status, html) = sign_in(&app, &joe.hostname, "dave@elsewhere.test").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{html}");
    assert_eq!(app.count("hosts").await, hosts_before + 1);
}

on_each_backend!(oidc_refuses_forged_replayed_and_disabled_sign_ins);

async fn oidc_refuses_forged_replayed_and_disabled_sign_ins(app: TestApp) {
    let Some(Setup {
        joe,
        provider: _provider,
    }) = setup(&app, json!({})).await
    else {
        return;
    };
    let r = &app.alpha;
    app.ok(
        &r.api_host,
        &r.admin_token,
        "host/update",
        json!({"host_id": joe.host_id, "openid_sub": "joe-at-corp"}),
    )
    .await;

    // A callback delivered to another browser (no state cookie): login CSRF is refused.
    let (browser, _) = app.browser(&[&joe.hostname]);
    let url = through_provider(&app, &browser, &joe.hostname, "joe-at-corp", None).await;
    let (other_browser, _) = app.browser(&[&joe.hostname]);
    let response = callback(&other_browser, &url).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response
            .text()
            .await
            .expect("html")
            .contains("not started in this browser")
    );
    // The rightful browser succeeds once; replaying the same callback fails.
    assert_eq!(
        callback(&browser, &url).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        callback(&browser, &url).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // A nonce that does not match the ID token's is refused.
    let (browser, _) = app.browser(&[&joe.hostname]);
    let url = through_provider(&app, &browser, &joe.hostname, "joe-at-corp", None).await;
    sqlx::query("UPDATE oidc_pending_logins SET nonce = 'not-the-nonce'")
        .execute(&app.state.db.pool)
        .await
        .expect("tamper");
    let response = callback(&browser, &url).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let html = response.text().await.expect("html");
    assert!(html.contains("ID token is not valid"), "{html}");

    // A code the provider issued to another client (so for another audience) is refused.
    let (browser, _) = app.browser(&[&joe.hostname]);
    let url = through_provider(
        &app,
        &browser,
        &joe.hostname,
        "joe-at-corp",
        Some(OTHER_CLIENT_ID),
    )
    .await;
    let response = callback(&browser, &url).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let html = response.text().await.expect("html");
    assert!(html.contains("did not accept"), "{html}");

    // A provider error is shown, not followed.
    let (browser, _) = app.browser(&[&joe.hostname]);
    let response = browser
        .get(app.url(
            &joe.hostname,
            "/auth/oidc/callback?error=access_denied&error_description=User+said+no",
        ))
        .send()
        .await
        .expect("error callback");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let html = response.text().await.expect("html");
    assert!(html.contains("refused: User said no"), "{html}");

    // Turning the company's provider off removes the button and the flow.
    app.ok(
        &r.api_host,
        &r.admin_token,
        "company/update",
        json!({"company_id": joe.company_id, "openid_provider": false}),
    )
    .await;
    let html = app
        .page(&joe.hostname, "/login")
        .await
        .text()
        .await
        .expect("html");
    assert!(!html.contains("Sign in with"), "{html}");
    let start = app.page(&joe.hostname, "/auth/oidc/start").await;
    assert_eq!(start.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.count("browser_sessions").await,
        1,
        "only the one rightful sign-in"
    );
}

on_each_backend!(oidc_set_up_by_a_company_admin_never_signs_in_the_reseller_admin);

async fn oidc_set_up_by_a_company_admin_never_signs_in_the_reseller_admin(app: TestApp) {
    let r = app.alpha.clone();
    let api = r.api_host.as_str();
    let me = app.ok(api, &r.admin_token, "host/list", json!({})).await;
    let company = me["hosts"][0]["company_id"].as_i64().expect("company");
    let Some(provider) = start_provider(&app.url(api, "/auth/oidc/callback")) else {
        return;
    };
    app.ok(
        api,
        &r.admin_token,
        "company/update",
        json!({"company_id": company, "openid_provider": true}),
    )
    .await;
    let (_, ops) = app
        .host(&r, company, "ops@alpha.test", "COMPANY_ADMIN")
        .await;
    let (_, _) = app.host(&r, company, "staff@alpha.test", "HOST").await;
    let settings = json!({"company_id": company, "issuer_url": provider.issuer, "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET, "match_email": true});
    // The admin company's own company admin points it at a provider it runs ...
    app.ok(api, &ops, "company/openid/set", settings.clone())
        .await;
    let (status, _) = sign_in(&app, api, "staff@alpha.test").await;
    assert_eq!(status, StatusCode::OK, "its hosts sign in");
    // ... which cannot vouch for the reseller admin.
    let (status, html) = sign_in(&app, api, &r.admin_email).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{html}");
    // Settings the reseller admin saves itself reach it.
    app.ok(api, &r.admin_token, "company/openid/set", settings)
        .await;
    let (status, html) = sign_in(&app, api, &r.admin_email).await;
    assert_eq!(status, StatusCode::OK, "{html}");
}
