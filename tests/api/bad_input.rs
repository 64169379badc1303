//! Bad input gets its own clear 4xx with `message` and `error`, and leaves the database unchanged.

use reqwest::StatusCode;
use serde_json::json;

use crate::{helpers::TestApp, on_each_backend};

on_each_backend!(bad_input_is_refused_cleanly);

async fn bad_input_is_refused_cleanly(app: TestApp) {
    let r = app.alpha.clone();
    let api = r.api_host.as_str();
    let company = app.company(&r, "joe").await;
    app.ok(
        api,
        &r.admin_token,
        "host/create",
        json!({"company_id": company, "name": "John", "email": "john@joe.tld", "access_code": 1234567, "no_welcome_email": true}),
    )
    .await;
    let tables = [
        "companies",
        "hosts",
        "domains",
        "password_links",
        "mail_outbox",
        "api_tokens",
    ];
    let mut before = Vec::new();
    for table in tables {
        before.push(app.count(table).await);
    }

    let token = format!("\"auth_token\": \"{}\"", r.admin_token);
    // (method, raw body, status, error code, text the message must contain)
    let cases: Vec<(&str, String, u16, &str, &str)> = vec![
        (
            "company/create",
            format!("{{{token}, \"subdomain\": \"x\""),
            400,
            "malformed_json",
            "not valid JSON",
        ),
        (
            "company/create",
            "[1, 2]".into(),
            400,
            "malformed_json",
            "JSON object",
        ),
        (
            "company/create",
            format!("{{{token}, \"subdomain\": 5, \"name\": \"X\"}}"),
            400,
            "invalid_field",
            "subdomain",
        ),
        (
            "company/create",
            format!("{{{token}, \"name\": \"X\"}}"),
            400,
            "missing_field",
            "subdomain",
        ),
        (
            "company/create",
            format!("{{{token}, \"subdomain\": \"bad_label\", \"name\": \"X\"}}"),
            400,
            "invalid_field",
            "subdomain",
        ),
        (
            "company/create",
            format!("{{{token}, \"subdomain\": \"-joe\", \"name\": \"X\"}}"),
            400,
            "invalid_field",
            "subdomain",
        ),
        (
            "company/create",
            format!(
                "{{{token}, \"subdomain\": \"{}\", \"name\": \"X\"}}",
                "a".repeat(64)
            ),
            400,
            "invalid_field",
            "subdomain",
        ),
        (
            "company/create",
            format!("{{{token}, \"subdomain\": \"reseller-admin\", \"name\": \"X\"}}"),
            400,
            "invalid_field",
            "reserved",
        ),
        (
            "company/create",
            format!("{{{token}, \"subdomain\": \"joe\", \"name\": \"X\"}}"),
            409,
            "duplicate_subdomain",
            "joe",
        ),
        (
            "company/create",
            format!("{{{token}, \"subdomain\": \"ok\", \"name\": \"  \"}}"),
            400,
            "invalid_field",
            "name",
        ),
        (
            "company/create",
            format!(
                "{{{token}, \"subdomain\": \"ok\", \"name\": \"X\", \"openid_provider\": \"yes\"}}"
            ),
            400,
            "invalid_field",
            "openid_provider",
        ),
        (
            "company/get",
            format!("{{{token}, \"company_id\": \"five\"}}"),
            400,
            "invalid_field",
            "company_id",
        ),
        (
            "company/get",
            format!("{{{token}, \"company_id\": 999999}}"),
            404,
            "not_found",
            "Company",
        ),
        (
            "company/list",
            format!("{{{token}, \"limit\": 0}}"),
            400,
            "invalid_field",
            "limit",
        ),
        (
            "company/list",
            format!("{{{token}, \"offset\": -1}}"),
            400,
            "invalid_field",
            "offset",
        ),
        (
            "host/create",
            format!(
                "{{{token}, \"company_id\": 999999, \"name\": \"A\", \"email\": \"a@joe.tld\"}}"
            ),
            404,
            "not_found",
            "Company",
        ),
        (
            "host/create",
            format!(
                "{{{token}, \"company_id\": {company}, \"name\": \"A\", \"email\": \"not-an-email\"}}"
            ),
            400,
            "invalid_field",
            "email",
        ),
        (
            "host/create",
            format!(
                "{{{token}, \"company_id\": {company}, \"name\": \"A\", \"email\": \"JOHN@joe.tld\"}}"
            ),
            409,
            "duplicate_email",
            "john@joe.tld",
        ),
        (
            "host/create",
            format!(
                "{{{token}, \"company_id\": {company}, \"name\": \"A\", \"email\": \"a@joe.tld\", \"access_code\": 1234567}}"
            ),
            409,
            "duplicate_access_code",
            "1234567",
        ),
        (
            "host/create",
            format!(
                "{{{token}, \"company_id\": {company}, \"name\": \"A\", \"email\": \"a@joe.tld\", \"access_code\": \"12ab\"}}"
            ),
            400,
            "invalid_field",
            "access_code",
        ),
        (
            "host/create",
            format!(
                "{{{token}, \"company_id\": {company}, \"name\": \"A\", \"email\": \"a@joe.tld\", \"moderator_pin\": [1]}}"
            ),
            400,
            "invalid_field",
            "moderator_pin",
        ),
        (
            "host/create",
            format!(
                "{{{token}, \"company_id\": {company}, \"name\": \"A\", \"email\": \"a@joe.tld\", \"password\": \"short\"}}"
            ),
            400,
            "invalid_field",
            "password",
        ),
        (
            "host/create",
            format!(
                "{{{token}, \"company_id\": {company}, \"name\": \"A\", \"email\": \"a@joe.tld\", \"role\": \"KING\"}}"
            ),
            400,
            "invalid_field",
            "role",
        ),
        (
            "host/create",
            format!(
                "{{{token}, \"company_id\": {company}, \"name\": \"A\", \"email\": \"a@joe.tld\", \"subscription_ids\": [\"x\"]}}"
            ),
            400,
            "invalid_field",
            "subscription_ids",
        ),
        (
            "host/create",
            format!("{{{token}, \"name\": \"A\", \"email\": \"a@joe.tld\"}}"),
            400,
            "missing_field",
            "company_id",
        ),
        (
            "host/get",
            format!("{{{token}, \"host_id\": -3}}"),
            400,
            "invalid_field",
            "host_id",
        ),
        (
            "company/create",
            "{\"auth_token\": 12}".into(),
            400,
            "invalid_field",
            "auth_token",
        ),
        (
            "company/nonsense",
            format!("{{{token}}}"),
            404,
            "unknown_method",
            "company/nonsense",
        ),
        (
            "authenticate",
            "{\"email\": \"x@y.tld\"}".into(),
            400,
            "missing_field",
            "password",
        ),
    ];
    let mut failures = Vec::new();
    for (method, body, status, code, text) in &cases {
        let (got, json) = app.api_raw(api, method, body.clone()).await;
        let message = json["message"].as_str().unwrap_or_default();
        if got.as_u16() != *status || json["error"] != *code || !message.contains(text) {
            failures.push(format!(
                "{method} {body} → {got} {json} (expected {status} {code} containing {text:?})"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "bad input cases failed:\n{}",
        failures.join("\n")
    );

    // Oversized bodies are refused before parsing.
    let huge = format!(
        "{{{token}, \"name\": \"{}\", \"subdomain\": \"big\"}}",
        "x".repeat(70 * 1024)
    );
    let (status, json) = app.api_raw(api, "company/create", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_eq!(json["error"], "body_too_large");

    for (table, count) in tables.iter().zip(before) {
        assert_eq!(
            app.count(table).await,
            count,
            "{table} changed after refused requests"
        );
    }

    // Unknown domains: JSON 404 for the API, a themed page for people.
    let (status, json) = app.api("nowhere.test", "company/list", json!({})).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_domain"))
    );
    let page = app.page("nowhere.test", "/").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("<html") && html.contains("Page not found"),
        "{html}"
    );
}

on_each_backend!(oversized_bodies_get_the_usual_answers);

/// A body over the limit answers like any other refusal: JSON naming the limit that applied for
/// the API, the company's themed page for people's forms — never the framework's plain text.
async fn oversized_bodies_get_the_usual_answers(app: TestApp) {
    let alpha = app.alpha.clone();
    let big_theme = format!("{{\"product_name\": \"{}\"}}", "x".repeat(600 * 1024));
    let response = app
        .client
        .post(format!("http://{}/enterprise_api/theme/update", app.addr))
        .header("host", &alpha.api_host)
        .header("authorization", format!("Bearer {}", alpha.admin_token))
        .header("content-type", "application/json")
        .body(big_theme)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let json: serde_json::Value = response.json().await.expect("json");
    assert_eq!(json["error"], "body_too_large");
    assert_eq!(json["message"], "Request body exceeds 512 KiB");

    app.company(&alpha, "joe").await;
    let page_host = "joe.alpha.test";
    let huge_form = format!("a={}", "x".repeat(70 * 1024));
    for path in ["/auth", "/login", "/logout", "/password/create/abc"] {
        let response = app
            .client
            .post(format!("http://{}{path}", app.addr))
            .header("host", page_host)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(huge_form.clone())
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .to_string();
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
        let page = response.text().await.expect("html");
        assert!(page.contains("The form is too large"), "{path}: {page}");
        assert!(
            page.contains("/theme/"),
            "{path}: the company's stylesheet: {page}"
        );
    }
}
