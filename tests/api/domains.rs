//! Custom domains: pending until the server fetched the token from the domain (here: from
//! itself), then resolving to the company; the primary domain moves meeting and password links.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{helpers::TestApp, on_each_backend};

on_each_backend!(custom_domain_lifecycle);
on_each_backend!(domain_roles_and_scopes);
on_each_backend!(domain_bad_input);
on_each_backend!(pending_domains_expire);

const CUSTOM: &str = "meet.joe-corp.example";

async fn custom_domain_lifecycle(app: TestApp) {
    let alpha = app.alpha.clone();
    let joe = app.company(&alpha, "joe").await;
    let (_, admin) = app.host(&alpha, joe, "boss@joe.tld", "COMPANY_ADMIN").await;
    let (host_id, _) = app.host(&alpha, joe, "h@joe.tld", "HOST").await;
    let api = alpha.api_host.as_str();

    let added = app
        .ok(
            api,
            &admin,
            "domain/add",
            json!({"company_id": joe, "domain": "Meet.Joe-Corp.EXAMPLE."}),
        )
        .await;
    assert_eq!(added["domain"], CUSTOM);
    assert_eq!(added["status"], "pending");
    assert_eq!(added["primary"], false);
    let token = added["verification_token"]
        .as_str()
        .expect("token")
        .to_string();
    assert_eq!(
        added["verification_url"],
        format!("http://{CUSTOM}/.well-known/meeting-domain/{token}")
    );

    // Pending: the domain does not serve the company, only its token.
    assert_eq!(app.page(CUSTOM, "/").await.status(), StatusCode::NOT_FOUND);
    let (status, body) = app.api(CUSTOM, "authenticate", json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_domain"))
    );
    let well_known = format!("/.well-known/meeting-domain/{token}");
    let served = app.page(CUSTOM, &well_known).await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.text().await.expect("body"), token);
    let elsewhere = app.page("joe.alpha.test", &well_known).await;
    assert_eq!(
        elsewhere.status(),
        StatusCode::NOT_FOUND,
        "token only on its own domain"
    );
    let wrong = app.page(CUSTOM, "/.well-known/meeting-domain/nope").await;
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    // A pending domain cannot become primary.
    let (status, body) = app
        .call(
            api,
            &admin,
            "domain/set_primary",
            json!({"company_id": joe, "domain": CUSTOM}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Verified: the domain resolves; the token is no longer served; URLs keep the subdomain.
    let verified = app
        .ok(
            api,
            &admin,
            "domain/verify",
            json!({"company_id": joe, "domain": CUSTOM}),
        )
        .await;
    assert_eq!(verified["status"], "verified");
    assert!(verified["verification_token"].is_null(), "{verified}");
    assert_eq!(app.page(CUSTOM, "/").await.status(), StatusCode::OK);
    assert_eq!(
        app.page(CUSTOM, &well_known).await.status(),
        StatusCode::NOT_FOUND
    );
    let meeting_url = |v: &Value| v["meeting_url"].as_str().expect("meeting_url").to_string();
    let host = app
        .ok(
            api,
            &alpha.admin_token,
            "host/get",
            json!({"host_id": host_id}),
        )
        .await;
    assert!(
        meeting_url(&host).starts_with(&app.url("joe.alpha.test", "/conf/call/")),
        "{host}"
    );

    // Primary: meeting URLs, the company URL and password links use the custom domain.
    let primary = app
        .ok(
            api,
            &admin,
            "domain/verify",
            json!({"company_id": joe, "domain": CUSTOM, "primary": true}),
        )
        .await;
    assert_eq!(primary["primary"], true);
    let host = app
        .ok(
            api,
            &alpha.admin_token,
            "host/get",
            json!({"host_id": host_id}),
        )
        .await;
    assert!(
        meeting_url(&host).starts_with(&app.url(CUSTOM, "/conf/call/")),
        "{host}"
    );
    let company = app
        .ok(
            api,
            &alpha.admin_token,
            "company/get",
            json!({"company_id": joe}),
        )
        .await;
    assert_eq!(company["domain"], CUSTOM);
    let created = app
        .ok(
            api,
            &admin,
            "host/create",
            json!({"company_id": joe, "name": "New", "email": "new@joe.tld", "role": "HOST"}),
        )
        .await;
    let link = created["password_creation_link"].as_str().expect("link");
    assert!(
        link.starts_with(&app.url(CUSTOM, "/password/create/")),
        "{created}"
    );
    let mail = app.wait_for_mail("new@joe.tld").await;
    assert!(
        mail.data.contains(CUSTOM),
        "welcome mail links the primary domain"
    );
    // The subdomain keeps working.
    assert_eq!(
        app.page("joe.alpha.test", "/").await.status(),
        StatusCode::OK
    );
    let list = app
        .ok(api, &admin, "domain/list", json!({"company_id": joe}))
        .await;
    let listed: Vec<(&str, bool)> = list["domains"]
        .as_array()
        .expect("domains")
        .iter()
        .map(|d| (d["domain"].as_str().unwrap_or(""), d["primary"] == true))
        .collect();
    assert_eq!(listed, vec![("joe.alpha.test", false), (CUSTOM, true)]);

    // Back to the subdomain and forth, then delete: the subdomain is primary again.
    app.ok(
        api,
        &admin,
        "domain/set_primary",
        json!({"company_id": joe, "domain": "joe.alpha.test"}),
    )
    .await;
    let host = app
        .ok(
            api,
            &alpha.admin_token,
            "host/get",
            json!({"host_id": host_id}),
        )
        .await;
    assert!(
        meeting_url(&host).starts_with(&app.url("joe.alpha.test", "/")),
        "{host}"
    );
    app.ok(
        api,
        &admin,
        "domain/set_primary",
        json!({"company_id": joe, "domain": CUSTOM}),
    )
    .await;
    // A subdomain change keeps the custom primary.
    app.ok(
        api,
        &alpha.admin_token,
        "company/update",
        json!({"company_id": joe, "subdomain": "joey"}),
    )
    .await;
    let host = app
        .ok(
            api,
            &alpha.admin_token,
            "host/get",
            json!({"host_id": host_id}),
        )
        .await;
    assert!(
        meeting_url(&host).starts_with(&app.url(CUSTOM, "/")),
        "{host}"
    );
    let (status, body) = app
        .call(
            api,
            &admin,
            "domain/delete",
            json!({"company_id": joe, "domain": "joey.alpha.test"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "the subdomain stays: {body}");
    let deleted = app
        .ok(
            api,
            &admin,
            "domain/delete",
            json!({"company_id": joe, "domain": CUSTOM}),
        )
        .await;
    assert_eq!(deleted["deleted"], true);
    let host = app
        .ok(
            api,
            &alpha.admin_token,
            "host/get",
            json!({"host_id": host_id}),
        )
        .await;
    assert!(
        meeting_url(&host).starts_with(&app.url("joey.alpha.test", "/conf/call/")),
        "{host}"
    );
    assert_eq!(app.page(CUSTOM, "/").await.status(), StatusCode::NOT_FOUND);
}

async fn domain_roles_and_scopes(app: TestApp) {
    let alpha = app.alpha.clone();
    let beta = app.beta.clone();
    let a1 = app.company(&alpha, "a1").await;
    let a2 = app.company(&alpha, "a2").await;
    let b1 = app.company(&beta, "b1").await;
    let (_, ca1) = app.host(&alpha, a1, "ca1@a1.tld", "COMPANY_ADMIN").await;
    let (_, h1) = app.host(&alpha, a1, "h1@a1.tld", "HOST").await;
    let ra = alpha.admin_token.clone();
    let rb = beta.admin_token.clone();
    let api = alpha.api_host.as_str();
    // One pending domain per company to aim at.
    for (token, host, company, domain) in [
        (&ra, api, a1, "a1.own.example"),
        (&ra, api, a2, "a2.own.example"),
        (&rb, beta.api_host.as_str(), b1, "b1.own.example"),
    ] {
        app.ok(
            host,
            token,
            "domain/add",
            json!({"company_id": company, "domain": domain}),
        )
        .await;
    }
    let on = |company: i64, domain: &str| json!({"company_id": company, "domain": domain});
    let cases: Vec<(&str, &str, &str, Value, u16)> = vec![
        // Reseller admin: every company of its reseller, none of another reseller.
        ("ra", api, "domain/list", json!({"company_id": a2}), 200),
        ("ra", api, "domain/add", on(a2, "more.a2.example"), 200),
        ("ra", api, "domain/list", json!({"company_id": b1}), 404),
        ("ra", api, "domain/add", on(b1, "x.b1.example"), 404),
        ("ra", api, "domain/verify", on(b1, "b1.own.example"), 404),
        ("ra", api, "domain/delete", on(b1, "b1.own.example"), 404),
        // Company admin: its own company only.
        ("ca1", api, "domain/list", json!({"company_id": a1}), 200),
        ("ca1", api, "domain/add", on(a1, "more.a1.example"), 200),
        ("ca1", api, "domain/list", json!({"company_id": a2}), 404),
        ("ca1", api, "domain/add", on(a2, "y.a2.example"), 404),
        ("ca1", api, "domain/verify", on(a2, "a2.own.example"), 404),
        (
            "ca1",
            api,
            "domain/set_primary",
            on(a2, "a2.alpha.test"),
            404,
        ),
        ("ca1", api, "domain/delete", on(a2, "a2.own.example"), 404),
        // Another company's domain named under one's own company is not found either.
        ("ca1", api, "domain/delete", on(a1, "a2.own.example"), 404),
        ("ca1", api, "domain/verify", on(a1, "a2.own.example"), 404),
        // Hosts may not call domain methods at all.
        ("h1", api, "domain/list", json!({"company_id": a1}), 403),
        ("h1", api, "domain/add", on(a1, "z.a1.example"), 403),
        ("h1", api, "domain/verify", on(a1, "a1.own.example"), 403),
        (
            "h1",
            api,
            "domain/set_primary",
            on(a1, "a1.alpha.test"),
            403,
        ),
        ("h1", api, "domain/delete", on(a1, "a1.own.example"), 403),
        // Allowed verbs last, so the 404/403 cases above saw the domains in place.
        ("ca1", api, "domain/verify", on(a1, "a1.own.example"), 200),
        ("ca1", api, "domain/delete", on(a1, "a1.own.example"), 200),
        ("ra", api, "domain/verify", on(a2, "a2.own.example"), 200),
        (
            "ra",
            api,
            "domain/set_primary",
            on(a2, "a2.own.example"),
            200,
        ),
        ("ra", api, "domain/delete", on(a2, "a2.own.example"), 200),
    ];
    for (who, host, method, body, expect) in cases {
        let token = match who {
            "ra" => &ra,
            "ca1" => &ca1,
            _ => &h1,
        };
        let (status, json) = app.call(host, token, method, body.clone()).await;
        assert_eq!(status.as_u16(), expect, "{who} {method} {body}: {json}");
        assert!(json["message"].is_string(), "{json}");
    }
    // The foreign reseller's domain is untouched and still pending.
    let b1_domains = app
        .ok(
            &beta.api_host,
            &rb,
            "domain/list",
            json!({"company_id": b1}),
        )
        .await;
    assert_eq!(
        b1_domains["domains"][1]["status"], "pending",
        "{b1_domains}"
    );
}

async fn domain_bad_input(app: TestApp) {
    let alpha = app.alpha.clone();
    let a1 = app.company(&alpha, "a1").await;
    let b1 = app.company(&app.beta, "b1").await;
    let api = alpha.api_host.as_str();
    let ra = alpha.admin_token.clone();
    app.ok(
        &app.beta.api_host,
        &app.beta.admin_token,
        "domain/add",
        json!({"company_id": b1, "domain": "taken.example"}),
    )
    .await;
    let before = app.count("domains").await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"company_id": a1, "domain": "bad host!"}),
            400,
            "domain",
        ),
        (json!({"company_id": a1, "domain": ""}), 400, "domain"),
        (
            json!({"company_id": a1, "domain": "localhost"}),
            400,
            "domain",
        ),
        (
            json!({"company_id": a1, "domain": "10.0.0.1"}),
            400,
            "domain",
        ),
        (
            json!({"company_id": a1, "domain": "under_score.example"}),
            400,
            "domain",
        ),
        (
            json!({"company_id": a1, "domain": format!("{}.example", "a".repeat(64))}),
            400,
            "domain",
        ),
        (json!({"company_id": a1, "domain": 42}), 400, "domain"),
        (json!({"company_id": a1}), 400, "domain"),
        (json!({"domain": "ok.example"}), 400, "company_id"),
        (
            json!({"company_id": -1, "domain": "ok.example"}),
            400,
            "company_id",
        ),
        // Reseller base domains and everything under them, of any reseller.
        (
            json!({"company_id": a1, "domain": "alpha.test"}),
            400,
            "domain",
        ),
        (
            json!({"company_id": a1, "domain": "new.alpha.test"}),
            400,
            "domain",
        ),
        (
            json!({"company_id": a1, "domain": "a1.alpha.test"}),
            400,
            "domain",
        ),
        // Another reseller's: the same answer as a name taken by any tenant, which says nothing
        // about who holds it.
        (
            json!({"company_id": a1, "domain": "deep.b1.beta.test"}),
            409,
            "is not available",
        ),
        // Unique across all tenants.
        (
            json!({"company_id": a1, "domain": "taken.example"}),
            409,
            "is not available",
        ),
        (
            json!({"company_id": a1, "domain": "TAKEN.example."}),
            409,
            "is not available",
        ),
    ];
    for (body, expect, names) in cases {
        let (status, json) = app.call(api, &ra, "domain/add", body.clone()).await;
        assert_eq!(status.as_u16(), expect, "{body}: {json}");
        let message = json["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{body}: {json}");
    }
    // Unknown domains, and malformed names, for the other verbs.
    for method in ["domain/verify", "domain/set_primary", "domain/delete"] {
        for domain in ["nothing.example", "bad host!", ""] {
            let (status, json) = app
                .call(
                    api,
                    &ra,
                    method,
                    json!({"company_id": a1, "domain": domain}),
                )
                .await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {domain}: {json}");
        }
    }
    assert_eq!(app.count("domains").await, before, "nothing was written");
}

/// A pending claim holds its name against every tenant, but only for a week: a name nobody proves
/// becomes free again, and the answer to the other tenant never says who holds it or how.
async fn pending_domains_expire(app: TestApp) {
    let alpha = app.alpha.clone();
    let beta = app.beta.clone();
    let a1 = app.company(&alpha, "a1").await;
    let b1 = app.company(&beta, "b1").await;
    let name = "meet.squatted.example";
    let added = app
        .ok(
            &alpha.api_host,
            &alpha.admin_token,
            "domain/add",
            json!({"company_id": a1, "domain": name}),
        )
        .await;
    let created =
        chrono::DateTime::parse_from_rfc3339(added["created_at"].as_str().expect("created"))
            .expect("created_at");
    let expires =
        chrono::DateTime::parse_from_rfc3339(added["expires_at"].as_str().expect("expires"))
            .expect("expires_at");
    assert_eq!((expires - created).num_days(), 7, "{added}");

    let claim = json!({"company_id": b1, "domain": name});
    let (status, refused) = app
        .call(
            &beta.api_host,
            &beta.admin_token,
            "domain/add",
            claim.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(
        refused["message"],
        format!("domain `{name}` is not available"),
        "nothing about who holds it"
    );

    // Eight days later the claim has run out: verifying it says so and removes it...
    sqlx::query("UPDATE domains SET created_at = created_at - 8 * 86400 WHERE hostname = $1")
        .bind(name)
        .execute(&app.state.db.pool)
        .await
        .expect("age the claim");
    let (status, gone) = app
        .call(
            &alpha.api_host,
            &alpha.admin_token,
            "domain/verify",
            json!({"company_id": a1, "domain": name}),
        )
        .await;
    assert_eq!(status, StatusCode::GONE, "{gone}");
    assert_eq!(gone["error"], "domain_expired");
    // ...and another tenant may claim the name (here after a second expired claim, which the
    // add itself clears without waiting for the periodic clean-up).
    app.ok(
        &alpha.api_host,
        &alpha.admin_token,
        "domain/add",
        json!({"company_id": a1, "domain": name}),
    )
    .await;
    sqlx::query("UPDATE domains SET created_at = created_at - 8 * 86400 WHERE hostname = $1")
        .bind(name)
        .execute(&app.state.db.pool)
        .await
        .expect("age the claim");
    let taken = app
        .ok(&beta.api_host, &beta.admin_token, "domain/add", claim)
        .await;
    assert_eq!(taken["status"], "pending");
    let listed = app
        .ok(
            &alpha.api_host,
            &alpha.admin_token,
            "domain/list",
            json!({"company_id": a1}),
        )
        .await;
    assert!(!listed.to_string().contains(name), "{listed}");
    // The periodic clean-up removes what nobody asks about.
    sqlx::query("UPDATE domains SET created_at = created_at - 8 * 86400 WHERE hostname = $1")
        .bind(name)
        .execute(&app.state.db.pool)
        .await
        .expect("age the claim");
    assert_eq!(
        confab::tenancy::domains::expire_pending(&app.state)
            .await
            .expect("clean-up"),
        1
    );
}
