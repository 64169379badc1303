//! A company admin of the reseller's own admin company is a company admin, not a reseller admin:
//! the reseller admin's conferences are out of its scope, and the company's sign-in credentials
//! it issues never open a session as the reseller admin.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::TestApp,
    on_each_backend,
    sso::{auth_get, expect_401_page},
};

/// The admin company's id and the reseller admin's host id.
async fn admin_company(app: &TestApp) -> (i64, i64) {
    let alpha = &app.alpha;
    let me = app
        .ok(&alpha.api_host, &alpha.admin_token, "host/list", json!({}))
        .await;
    let admin = me["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .find(|h| h["role"] == "RESELLER_ADMIN")
        .expect("reseller admin")
        .clone();
    (
        admin["company_id"].as_i64().expect("company"),
        admin["host_id"].as_i64().expect("host"),
    )
}

fn conference_request(host_id: i64) -> Value {
    let start = chrono::Utc::now() + chrono::Duration::days(2);
    json!({"host_id": host_id, "subject": "Board", "start": start.format("%Y-%m-%d %H:%M:%S").to_string(),
           "time_zone": "UTC", "duration": 30})
}

fn sign(secret: &str, host_id: i64, jti: &str) -> String {
    let now = confab::store::now();
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": host_id.to_string(), "iat": now, "exp": now + 120, "jti": jti}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

on_each_backend!(reseller_admin_conferences_are_out_of_a_company_admins_scope);

async fn reseller_admin_conferences_are_out_of_a_company_admins_scope(app: TestApp) {
    let alpha = app.alpha.clone();
    let api = alpha.api_host.as_str();
    let (company, ra_id) = admin_company(&app).await;
    let (_, ops) = app
        .host(&alpha, company, "ops@alpha.test", "COMPANY_ADMIN")
        .await;
    let created = app
        .ok(
            api,
            &alpha.admin_token,
            "conference/create",
            conference_request(ra_id),
        )
        .await;
    let id = created["conference_id"].as_i64().expect("id");
    for (method, body) in [
        ("conference/get", json!({"conference_id": id})),
        (
            "conference/update",
            json!({"conference_id": id, "subject": "Taken"}),
        ),
        ("conference/delete", json!({"conference_id": id})),
        ("conference/list", json!({"host_id": ra_id})),
        ("conference/create", conference_request(ra_id)),
    ] {
        let (status, answer) = app.call(api, &ops, method, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}: {answer}");
        assert!(
            !answer.to_string().contains("mod="),
            "{method} leaked a moderator link: {answer}"
        );
    }
    // Lists of the company leave the reseller admin's conferences out.
    let listed = app
        .ok(api, &ops, "conference/list", json!({"company_id": company}))
        .await;
    assert_eq!(listed["total"], 0, "{listed}");
    assert_eq!(listed["conferences"], json!([]), "{listed}");
    // The conference is untouched; the reseller admin still reaches it.
    let kept = app
        .ok(
            api,
            &alpha.admin_token,
            "conference/get",
            json!({"conference_id": id}),
        )
        .await;
    assert_eq!(kept["subject"], "Board");
    assert_eq!(kept["sequence"], 0);
}

on_each_backend!(company_issued_login_tokens_never_sign_in_the_reseller_admin);

async fn company_issued_login_tokens_never_sign_in_the_reseller_admin(app: TestApp) {
    let alpha = app.alpha.clone();
    let api = alpha.api_host.as_str();
    let (company, ra_id) = admin_company(&app).await;
    let (ops_id, ops) = app
        .host(&alpha, company, "ops@alpha.test", "COMPANY_ADMIN")
        .await;
    let (colleague_id, _) = app.host(&alpha, company, "staff@alpha.test", "HOST").await;
    // Its own company: the company admin may issue the secret.
    let issued = app
        .ok(
            api,
            &ops,
            "company/sso_secret/reset",
            json!({"company_id": company}),
        )
        .await;
    let secret = issued["sso_secret"].as_str().expect("secret").to_string();
    // The secret signs in the hosts the company admin reaches ...
    for (host_id, jti) in [(colleague_id, "colleague"), (ops_id, "self")] {
        let response = auth_get(&app, api, &[("token", &sign(&secret, host_id, jti))]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "host {host_id}");
    }
    // ... never the reseller admin, with the answer of an unknown host.
    let refused =
        expect_401_page(auth_get(&app, api, &[("token", &sign(&secret, ra_id, "takeover"))]).await)
            .await;
    let unknown = expect_401_page(
        auth_get(&app, api, &[("token", &sign(&secret, 999_999, "unknown"))]).await,
    )
    .await;
    assert!(refused.contains("not valid for this site"), "{refused}");
    assert!(unknown.contains("not valid for this site"), "{unknown}");

    // A secret the reseller admin issues reaches the reseller admin too.
    let issued = app
        .ok(
            api,
            &alpha.admin_token,
            "company/sso_secret/reset",
            json!({"company_id": company}),
        )
        .await;
    let secret = issued["sso_secret"].as_str().expect("secret").to_string();
    let response = auth_get(
        &app,
        api,
        &[("token", &sign(&secret, ra_id, "by-reseller"))],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // The company admin can replace it (its company), which takes that reach away again.
    let issued = app
        .ok(
            api,
            &ops,
            "company/sso_secret/reset",
            json!({"company_id": company}),
        )
        .await;
    let secret = issued["sso_secret"].as_str().expect("secret").to_string();
    expect_401_page(auth_get(&app, api, &[("token", &sign(&secret, ra_id, "again"))]).await).await;
}
