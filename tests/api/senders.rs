//! A theme's `sender_email` must be on a domain of the tenant: a company admin cannot make
//! invitations come "from" someone else's domain.

use reqwest::StatusCode;
use serde_json::json;

use crate::{helpers::TestApp, on_each_backend};

on_each_backend!(sender_addresses_are_limited_to_own_domains);

async fn sender_addresses_are_limited_to_own_domains(app: TestApp) {
    let alpha = app.alpha.clone();
    let api = alpha.api_host.as_str();
    let joe = app.company(&alpha, "joe").await;
    let (_, admin) = app.host(&alpha, joe, "boss@joe.tld", "COMPANY_ADMIN").await;
    let set = |company: Option<i64>, email: &str| match company {
        Some(id) => json!({"company_id": id, "sender_email": email}),
        None => json!({"sender_email": email}),
    };

    // Someone else's domain, a look-alike, and the other reseller's domain are refused, for the
    // company admin and for the reseller admin alike, and nothing is stored.
    for (token, company) in [(&admin, Some(joe)), (&alpha.admin_token, None)] {
        for spoofed in [
            "security@paypal.com",
            "ceo@evilalpha.test",
            "x@alpha.test.evil.example",
            "root@beta.test",
        ] {
            let (status, answer) = app
                .call(api, token, "theme/update", set(company, spoofed))
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{spoofed}: {answer}");
            assert_eq!(answer["error"], "invalid_field");
            let message = answer["message"].as_str().expect("message");
            assert!(message.starts_with("sender_email:"), "{message}");
            assert!(
                message.contains("alpha.test"),
                "names what is allowed: {message}"
            );
        }
    }
    let stored = app
        .ok(api, &admin, "theme/get", json!({"company_id": joe}))
        .await;
    assert!(stored["stored"]["sender_email"].is_null(), "{stored}");

    // The reseller's domain and its subdomains are the tenant's.
    app.ok(
        api,
        &admin,
        "theme/update",
        set(Some(joe), "meet@joe.alpha.test"),
    )
    .await;
    app.ok(
        api,
        &alpha.admin_token,
        "theme/update",
        set(None, "no-reply@alpha.test"),
    )
    .await;

    // A custom domain counts once its ownership is proven, not while it is pending.
    let custom = "meet.joe-corp.example";
    app.ok(
        api,
        &admin,
        "domain/add",
        json!({"company_id": joe, "domain": custom}),
    )
    .await;
    let (status, answer) = app
        .call(
            api,
            &admin,
            "theme/update",
            set(Some(joe), "hello@meet.joe-corp.example"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "pending domain: {answer}");
    app.ok(
        api,
        &admin,
        "domain/verify",
        json!({"company_id": joe, "domain": custom}),
    )
    .await;
    app.ok(
        api,
        &admin,
        "theme/update",
        set(Some(joe), "hello@meet.joe-corp.example"),
    )
    .await;
    // Another company's verified domain stays theirs.
    let other = app.company(&alpha, "other").await;
    let (status, answer) = app
        .call(
            api,
            &alpha.admin_token,
            "theme/update",
            set(Some(other), "hello@meet.joe-corp.example"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

    // Invitations go out from the address the tenant was allowed to choose.
    let (_, host_token) = app.host(&alpha, joe, "h@joe.tld", "HOST").await;
    app.ok(
        api,
        &host_token,
        "conference/create",
        json!({"subject": "Sync", "start": "2031-01-01 10:00:00", "time_zone": "UTC",
               "duration": 30, "participant_emails": [{"email": "guest@outside.tld"}]}),
    )
    .await;
    let invite = app.wait_for_mail("guest@outside.tld").await;
    assert_eq!(invite.from, "hello@meet.joe-corp.example");
}

on_each_backend!(a_sender_stored_before_the_rule_is_not_used);

/// A theme written before the own-domain rule may still hold someone else's address: mail then
/// goes out from the default sender, never from it.
async fn a_sender_stored_before_the_rule_is_not_used(app: TestApp) {
    let alpha = app.alpha.clone();
    let api = alpha.api_host.as_str();
    let joe = app.company(&alpha, "joe").await;
    app.ok(
        api,
        &alpha.admin_token,
        "theme/update",
        json!({"company_id": joe, "sender_name": "Joe Meetings"}),
    )
    .await;
    sqlx::query("UPDATE themes SET sender_email = 'security@paypal.com' WHERE company_id = $1")
        .bind(joe)
        .execute(&app.state.db.pool)
        .await
        .expect("an old spoofed sender");
    let (_, host_token) = app.host(&alpha, joe, "h@joe.tld", "HOST").await;
    app.ok(
        api,
        &host_token,
        "conference/create",
        json!({"subject": "Sync", "start": "2031-01-01 10:00:00", "time_zone": "UTC",
               "duration": 30, "participant_emails": [{"email": "guest@outside.tld"}]}),
    )
    .await;
    let invite = app.wait_for_mail("guest@outside.tld").await;
    assert_eq!(invite.from, "no-reply@alpha.test");
}
