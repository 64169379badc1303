//! The seed document's requests, sent verbatim, answer every field of its responses.

use reqwest::StatusCode;
use serde_json::json;

use crate::{helpers::TestApp, on_each_backend};

on_each_backend!(seed_requests_answer_the_seed_shapes);

async fn seed_requests_answer_the_seed_shapes(app: TestApp) {
    let api = "reseller-admin.alpha.test";
    let (status, auth) = app
        .api(
            api,
            "authenticate",
            json!({"email": "root@alpha.test", "password": "Sup3rSecret!"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{auth}");
    let token = auth["auth_token"].as_str().expect("auth_token").to_string();
    assert!(auth["message"].is_string());

    let company = app
        .ok(
            api,
            &token,
            "company/create",
            json!({"subdomain": "joe", "name": "The Joe Company", "openid_provider": true}),
        )
        .await;
    let company_id = company["id"].as_i64().expect("integer id");
    assert_eq!(company["domain"], "joe.alpha.test");

    let host = app
        .ok(
            api,
            &token,
            "host/create",
            json!({
                "company_id": company_id,
                "name": "John Host",
                "email": "john@company.tld",
                "password": "SoSecret5!",
                "no_welcome_email": true,
                "role": "HOST",
                "openid_sub": "23081912eca",
                "subscription_ids": [102, 104],
                "moderator_pin": 9876543,
                "access_code": 1234567
            }),
        )
        .await;
    for field in [
        "host_id",
        "name",
        "email",
        "primary_dialin_number",
        "meeting_url",
        "role",
        "openid_sub",
        "access_code",
        "moderator_pin",
        "password_creation_link",
        "login_token_public_key",
        "subscription_ids",
    ] {
        assert!(
            host.get(field).is_some(),
            "host/create answer lacks {field}: {host}"
        );
    }
    assert!(host["host_id"].is_i64());
    assert_eq!(host["name"], "John Host");
    assert_eq!(host["email"], "john@company.tld");
    assert_eq!(host["role"], "HOST");
    assert_eq!(host["openid_sub"], "23081912eca");
    assert_eq!(host["access_code"], json!({"number": "1234567"}));
    assert_eq!(host["moderator_pin"], json!({"number": "9876543"}));
    assert_eq!(host["subscription_ids"], json!([102, 104]));
    let port = app.addr.port();
    assert_eq!(
        host["meeting_url"],
        format!("http://joe.alpha.test:{port}/conf/call/1234567")
    );
    assert_eq!(
        host["livestream_url"],
        format!("http://joe.alpha.test:{port}/livestream/1234567")
    );
    let link = host["password_creation_link"].as_str().expect("link");
    assert!(
        link.starts_with(&format!("http://joe.alpha.test:{port}/password/create/")),
        "{link}"
    );
    assert!(
        host["login_token_public_key"]
            .as_str()
            .expect("login token")
            .len()
            >= 32
    );

    // The company is reachable at its subdomain, and the host can use its password there.
    let host_token = app
        .login("joe.alpha.test", "john@company.tld", "SoSecret5!")
        .await;
    let me = app
        .ok(
            "joe.alpha.test",
            &host_token,
            "host/get",
            json!({"host_id": host["host_id"]}),
        )
        .await;
    assert_eq!(me["email"], "john@company.tld");
    assert!(
        me.get("login_token_public_key").is_none(),
        "secrets are shown only once: {me}"
    );

    // Omitted optional fields get generated values.
    let generated = app
        .ok(api, &token, "host/create", json!({"company_id": company_id, "name": "Jane", "email": "jane@company.tld", "no_welcome_email": true}))
        .await;
    let code = generated["access_code"]["number"].as_str().expect("code");
    assert_eq!(code.len(), 7);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    assert_ne!(code, "1234567");
    assert!(
        generated["moderator_pin"]["number"]
            .as_str()
            .expect("pin")
            .len()
            >= 4
    );
    assert_eq!(generated["role"], "HOST");
    assert_eq!(generated["has_password"], false);
}

on_each_backend!(lifecycle_of_companies_and_hosts);

async fn lifecycle_of_companies_and_hosts(app: TestApp) {
    let r = app.alpha.clone();
    let api = r.api_host.as_str();
    let t = r.admin_token.as_str();
    let company = app.company(&r, "acme").await;
    let updated = app
        .ok(api, t, "company/update", json!({"company_id": company, "name": "Acme Ltd", "primary_dialin_number": "+1-416-555-1234"}))
        .await;
    assert_eq!(updated["name"], "Acme Ltd");
    assert_eq!(updated["primary_dialin_number"], "+1-416-555-1234");

    let (host_id, _) = app.host(&r, company, "h1@acme.tld", "HOST").await;
    app.host(&r, company, "h2@acme.tld", "COMPANY_ADMIN").await;
    let got = app
        .ok(api, t, "host/get", json!({"host_id": host_id}))
        .await;
    assert_eq!(got["primary_dialin_number"], "+1-416-555-1234");

    // Pagination with totals.
    let page = app
        .ok(
            api,
            t,
            "host/list",
            json!({"company_id": company, "limit": 1, "offset": 1}),
        )
        .await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["hosts"].as_array().expect("hosts").len(), 1);
    assert_eq!(page["hosts"][0]["email"], "h2@acme.tld");
    let companies = app.ok(api, t, "company/list", json!({})).await;
    assert_eq!(companies["total"], 2, "admin company + acme: {companies}");

    // Renaming the subdomain moves the company's domain and meeting URLs.
    app.ok(
        api,
        t,
        "company/update",
        json!({"company_id": company, "subdomain": "acme2"}),
    )
    .await;
    let moved = app
        .ok(api, t, "host/get", json!({"host_id": host_id}))
        .await;
    assert!(
        moved["meeting_url"]
            .as_str()
            .expect("url")
            .contains("://acme2.alpha.test:"),
        "{moved}"
    );
    let (status, _) = app
        .api(
            "acme.alpha.test",
            "authenticate",
            json!({"email": "h1@acme.tld", "password": "HostPass123"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "old domain no longer served");

    let updated_host = app
        .ok(api, t, "host/update", json!({"host_id": host_id, "name": "Renamed", "access_code": "7654321", "moderator_pin": "111111"}))
        .await;
    assert_eq!(updated_host["name"], "Renamed");
    assert_eq!(updated_host["access_code"]["number"], "7654321");

    let reset = app
        .ok(
            api,
            t,
            "host/reset_login_token",
            json!({"host_id": host_id}),
        )
        .await;
    assert!(
        reset["login_token_public_key"]
            .as_str()
            .expect("token")
            .len()
            >= 32
    );

    // Deleting the company removes its hosts and their sessions and domains.
    let hosts_before = app.count("hosts").await;
    app.ok(api, t, "company/delete", json!({"company_id": company}))
        .await;
    assert_eq!(app.count("hosts").await, hosts_before - 2);
    let (status, body) = app
        .call(api, t, "host/get", json!({"host_id": host_id}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = app
        .call(api, t, "company/get", json!({"company_id": company}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .api(
            "acme2.alpha.test",
            "authenticate",
            json!({"email": "h1@acme.tld", "password": "HostPass123"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The admin company cannot be deleted.
    let admin_company = companies["companies"][0]["id"].clone();
    let (status, body) = app
        .call(
            api,
            t,
            "company/delete",
            json!({"company_id": admin_company}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

on_each_backend!(openapi_describes_every_method);

async fn openapi_describes_every_method(app: TestApp) {
    let response = app
        .page("reseller-admin.alpha.test", "/enterprise_api/openapi.json")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc: serde_json::Value = response.json().await.expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    for method in [
        "authenticate",
        "logout",
        "company/create",
        "company/get",
        "company/list",
        "company/update",
        "company/delete",
        "host/create",
        "host/get",
        "host/list",
        "host/update",
        "host/delete",
        "host/reset_login_token",
        "api_token/create",
        "api_token/list",
        "api_token/revoke",
    ] {
        let path = format!("/enterprise_api/{method}");
        assert!(paths[&path]["post"].is_object(), "openapi lacks {path}");
    }
}
