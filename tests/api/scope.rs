//! The role × scope matrix: every method, every role, own versus foreign objects, across two
//! resellers and two companies.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{helpers::TestApp, on_each_backend};

on_each_backend!(roles_and_scopes);

struct Case {
    who: &'static str,
    method: &'static str,
    body: Value,
    expect: u16,
}

fn case(who: &'static str, method: &'static str, body: Value, expect: u16) -> Case {
    Case {
        who,
        method,
        body,
        expect,
    }
}

async fn roles_and_scopes(app: TestApp) {
    let alpha = app.alpha.clone();
    let beta = app.beta.clone();
    let a1 = app.company(&alpha, "a1").await;
    let a2 = app.company(&alpha, "a2").await;
    let b1 = app.company(&beta, "b1").await;
    let (ca1_id, ca1) = app.host(&alpha, a1, "ca1@a1.tld", "COMPANY_ADMIN").await;
    let (h1_id, h1) = app.host(&alpha, a1, "h1@a1.tld", "HOST").await;
    let (h1b_id, _) = app.host(&alpha, a1, "h1b@a1.tld", "HOST").await;
    let (h1c_id, _) = app.host(&alpha, a1, "h1c@a1.tld", "HOST").await;
    let (h2_id, _) = app.host(&alpha, a2, "h2@a2.tld", "HOST").await;
    let (hb_id, _) = app.host(&beta, b1, "hb@b1.tld", "HOST").await;
    let ra = alpha.admin_token.clone();
    let ra_api_token = app
        .ok(
            &alpha.api_host,
            &ra,
            "api_token/create",
            json!({"name": "integration"}),
        )
        .await;
    let ra_api_token_id = ra_api_token["id"].as_i64().expect("id");
    let token_of = |who: &str| match who {
        "ra" => ra.clone(),
        "ca1" => ca1.clone(),
        "h1" => h1.clone(),
        other => panic!("unknown caller {other}"),
    };

    let cases = vec![
        // company/create: reseller admins only.
        case(
            "ra",
            "company/create",
            json!({"subdomain": "new1", "name": "New"}),
            200,
        ),
        case(
            "ca1",
            "company/create",
            json!({"subdomain": "new2", "name": "New"}),
            403,
        ),
        case(
            "h1",
            "company/create",
            json!({"subdomain": "new3", "name": "New"}),
            403,
        ),
        // company/get: own company for company admins; foreign resellers' companies do not exist.
        case("ra", "company/get", json!({"company_id": a1}), 200),
        case("ra", "company/get", json!({"company_id": a2}), 200),
        case("ra", "company/get", json!({"company_id": b1}), 404),
        case("ca1", "company/get", json!({"company_id": a1}), 200),
        case("ca1", "company/get", json!({"company_id": a2}), 404),
        case("ca1", "company/get", json!({"company_id": b1}), 404),
        case("h1", "company/get", json!({"company_id": a1}), 403),
        // company/list
        case("ra", "company/list", json!({}), 200),
        case("ca1", "company/list", json!({}), 403),
        case("h1", "company/list", json!({}), 403),
        // company/update
        case(
            "ra",
            "company/update",
            json!({"company_id": a2, "name": "A2 renamed"}),
            200,
        ),
        case(
            "ra",
            "company/update",
            json!({"company_id": b1, "name": "Stolen"}),
            404,
        ),
        case(
            "ca1",
            "company/update",
            json!({"company_id": a1, "name": "A1 renamed"}),
            200,
        ),
        case(
            "ca1",
            "company/update",
            json!({"company_id": a1, "subdomain": "a1x"}),
            403,
        ),
        case(
            "ca1",
            "company/update",
            json!({"company_id": a2, "name": "Stolen"}),
            404,
        ),
        case(
            "h1",
            "company/update",
            json!({"company_id": a1, "name": "Mine"}),
            403,
        ),
        // company/delete
        case("ca1", "company/delete", json!({"company_id": a1}), 403),
        case("h1", "company/delete", json!({"company_id": a1}), 403),
        case("ra", "company/delete", json!({"company_id": b1}), 404),
        // host/get
        case("ra", "host/get", json!({"host_id": h2_id}), 200),
        case("ra", "host/get", json!({"host_id": hb_id}), 404),
        case("ca1", "host/get", json!({"host_id": h1_id}), 200),
        case("ca1", "host/get", json!({"host_id": h2_id}), 404),
        case("ca1", "host/get", json!({"host_id": hb_id}), 404),
        case("h1", "host/get", json!({"host_id": h1_id}), 200),
        case("h1", "host/get", json!({"host_id": h1b_id}), 404),
        case("h1", "host/get", json!({"host_id": hb_id}), 404),
        // host/list
        case("ra", "host/list", json!({}), 200),
        case("ra", "host/list", json!({"company_id": a2}), 200),
        case("ra", "host/list", json!({"company_id": b1}), 404),
        case("ca1", "host/list", json!({}), 200),
        case("ca1", "host/list", json!({"company_id": a2}), 404),
        case("h1", "host/list", json!({}), 403),
        // host/create
        case(
            "ra",
            "host/create",
            json!({"company_id": a2, "name": "N", "email": "n1@a2.tld", "no_welcome_email": true}),
            200,
        ),
        case(
            "ra",
            "host/create",
            json!({"company_id": b1, "name": "N", "email": "n2@b1.tld", "no_welcome_email": true}),
            404,
        ),
        case(
            "ra",
            "host/create",
            json!({"company_id": a1, "name": "N", "email": "n3@a1.tld", "role": "RESELLER_ADMIN", "no_welcome_email": true}),
            400,
        ),
        case(
            "ca1",
            "host/create",
            json!({"company_id": a1, "name": "N", "email": "n4@a1.tld", "no_welcome_email": true}),
            200,
        ),
        case(
            "ca1",
            "host/create",
            json!({"name": "N", "email": "n5@a1.tld", "no_welcome_email": true}),
            200,
        ),
        case(
            "ca1",
            "host/create",
            json!({"company_id": a2, "name": "N", "email": "n6@a2.tld", "no_welcome_email": true}),
            404,
        ),
        case(
            "ca1",
            "host/create",
            json!({"company_id": a1, "name": "N", "email": "n7@a1.tld", "role": "RESELLER_ADMIN", "no_welcome_email": true}),
            403,
        ),
        case(
            "h1",
            "host/create",
            json!({"company_id": a1, "name": "N", "email": "n8@a1.tld", "no_welcome_email": true}),
            403,
        ),
        // host/update
        case(
            "ra",
            "host/update",
            json!({"host_id": h2_id, "name": "H2"}),
            200,
        ),
        case(
            "ra",
            "host/update",
            json!({"host_id": hb_id, "name": "Stolen"}),
            404,
        ),
        case(
            "ca1",
            "host/update",
            json!({"host_id": h1b_id, "name": "H1b"}),
            200,
        ),
        case(
            "ca1",
            "host/update",
            json!({"host_id": h2_id, "name": "Stolen"}),
            404,
        ),
        case(
            "ca1",
            "host/update",
            json!({"host_id": h1b_id, "role": "RESELLER_ADMIN"}),
            403,
        ),
        case(
            "h1",
            "host/update",
            json!({"host_id": h1_id, "name": "Me", "moderator_pin": "432198"}),
            200,
        ),
        case(
            "h1",
            "host/update",
            json!({"host_id": h1_id, "role": "COMPANY_ADMIN"}),
            403,
        ),
        case(
            "h1",
            "host/update",
            json!({"host_id": h1_id, "email": "other@a1.tld"}),
            403,
        ),
        case(
            "h1",
            "host/update",
            json!({"host_id": h1b_id, "name": "Stolen"}),
            404,
        ),
        // host/reset_login_token
        case(
            "ra",
            "host/reset_login_token",
            json!({"host_id": h2_id}),
            200,
        ),
        case(
            "ra",
            "host/reset_login_token",
            json!({"host_id": hb_id}),
            404,
        ),
        case(
            "ca1",
            "host/reset_login_token",
            json!({"host_id": h1_id}),
            200,
        ),
        case(
            "ca1",
            "host/reset_login_token",
            json!({"host_id": h2_id}),
            404,
        ),
        case(
            "h1",
            "host/reset_login_token",
            json!({"host_id": h1_id}),
            200,
        ),
        case(
            "h1",
            "host/reset_login_token",
            json!({"host_id": h1b_id}),
            404,
        ),
        // host/delete
        case("h1", "host/delete", json!({"host_id": h1b_id}), 403),
        case("ca1", "host/delete", json!({"host_id": h2_id}), 404),
        case("ca1", "host/delete", json!({"host_id": ca1_id}), 409),
        case("ra", "host/delete", json!({"host_id": hb_id}), 404),
        case("ca1", "host/delete", json!({"host_id": h1c_id}), 200),
        // api_token/*
        case("ca1", "api_token/create", json!({"name": "ca1 token"}), 200),
        case("h1", "api_token/create", json!({"name": "h1 token"}), 403),
        case("ra", "api_token/list", json!({}), 200),
        case("ca1", "api_token/list", json!({}), 200),
        case("h1", "api_token/list", json!({}), 403),
        case(
            "ca1",
            "api_token/revoke",
            json!({"api_token_id": ra_api_token_id}),
            404,
        ),
        case(
            "h1",
            "api_token/revoke",
            json!({"api_token_id": ra_api_token_id}),
            403,
        ),
    ];

    let mut failures = Vec::new();
    for c in &cases {
        let (status, body) = app
            .call(&alpha.api_host, &token_of(c.who), c.method, c.body.clone())
            .await;
        if status.as_u16() != c.expect {
            failures.push(format!(
                "{} {} {} → {} (expected {}): {}",
                c.who, c.method, c.body, status, c.expect, body
            ));
        }
        assert!(
            body["message"].is_string(),
            "{} {}: no message: {body}",
            c.who,
            c.method
        );
        if status != StatusCode::OK {
            assert!(
                body["error"].is_string(),
                "{} {}: no error code: {body}",
                c.who,
                c.method
            );
        }
    }
    assert!(
        failures.is_empty(),
        "scope matrix failures:\n{}",
        failures.join("\n")
    );

    // Lists show exactly the caller's scope.
    let listed = app
        .ok(&alpha.api_host, &ca1, "host/list", json!({"limit": 200}))
        .await;
    let hosts = listed["hosts"].as_array().expect("hosts");
    assert!(!hosts.is_empty());
    assert!(
        hosts.iter().all(|h| h["company_id"] == a1),
        "company admin sees only its company: {listed}"
    );
    assert_eq!(listed["total"].as_i64(), Some(hosts.len() as i64));
    let all = app
        .ok(&alpha.api_host, &ra, "host/list", json!({"limit": 200}))
        .await;
    let emails: Vec<&str> = all["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .filter_map(|h| h["email"].as_str())
        .collect();
    assert!(
        emails.contains(&"h2@a2.tld") && !emails.contains(&"hb@b1.tld"),
        "{emails:?}"
    );
    let companies = app
        .ok(&beta.api_host, &beta.admin_token, "company/list", json!({}))
        .await;
    assert!(
        companies["companies"]
            .as_array()
            .expect("companies")
            .iter()
            .all(|c| c["domain"]
                .as_str()
                .is_some_and(|d| d.ends_with(".beta.test"))),
        "{companies}"
    );
    // Nothing was written by the refused calls: beta's host still exists, a2 keeps its hosts.
    let hb = app
        .ok(
            &beta.api_host,
            &beta.admin_token,
            "host/get",
            json!({"host_id": hb_id}),
        )
        .await;
    assert_eq!(hb["email"], "hb@b1.tld");
    let b1_company = app
        .ok(
            &beta.api_host,
            &beta.admin_token,
            "company/get",
            json!({"company_id": b1}),
        )
        .await;
    assert_eq!(b1_company["name"], "b1 Inc");
}

on_each_backend!(tokens_are_bound_to_their_reseller);

async fn tokens_are_bound_to_their_reseller(app: TestApp) {
    let alpha = app.alpha.clone();
    let beta = app.beta.clone();
    // Beta's token on alpha's domain does not exist there.
    let (status, body) = app
        .call(
            &alpha.api_host,
            &beta.admin_token,
            "company/list",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "Invalid token");
    // Beta's admin email does not authenticate on alpha either.
    let (status, _) = app
        .api(
            &alpha.api_host,
            "authenticate",
            json!({"email": beta.admin_email, "password": "Sup3rSecret!"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A token works on every domain of its own reseller.
    let a1 = app.company(&alpha, "a1").await;
    let listed = app
        .ok(
            "a1.alpha.test",
            &alpha.admin_token,
            "company/get",
            json!({"company_id": a1}),
        )
        .await;
    assert_eq!(listed["id"], a1);
    // API tokens are bound the same way.
    let created = app
        .ok(
            &beta.api_host,
            &beta.admin_token,
            "api_token/create",
            json!({"name": "beta"}),
        )
        .await;
    let api_token = created["api_token"].as_str().expect("token").to_string();
    let (status, body) = app
        .call(&alpha.api_host, &api_token, "company/list", json!({}))
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("Invalid token"))
    );
}

on_each_backend!(accounts_of_higher_rank_are_out_of_reach);

async fn accounts_of_higher_rank_are_out_of_reach(app: TestApp) {
    let alpha = app.alpha.clone();
    let api = alpha.api_host.as_str();
    let ra = alpha.admin_token.as_str();
    let me = app.ok(api, ra, "host/list", json!({})).await;
    let admin_company = me["hosts"][0]["company_id"]
        .as_i64()
        .expect("admin company");
    let ra_id = me["hosts"][0]["host_id"].as_i64().expect("admin id");
    // A company admin inside the reseller's own admin company still cannot touch reseller admins.
    let (_, ca) = app
        .host(&alpha, admin_company, "ops@alpha.test", "COMPANY_ADMIN")
        .await;
    for (method, body) in [
        ("host/get", json!({"host_id": ra_id})),
        ("host/update", json!({"host_id": ra_id, "role": "HOST"})),
        (
            "host/update",
            json!({"host_id": ra_id, "password": "Takeover123"}),
        ),
        ("host/delete", json!({"host_id": ra_id})),
        ("host/reset_login_token", json!({"host_id": ra_id})),
    ] {
        let (status, body) = app.call(api, &ca, method, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}: {body}");
    }
    let listed = app.ok(api, &ca, "host/list", json!({})).await;
    assert!(
        listed["hosts"]
            .as_array()
            .expect("hosts")
            .iter()
            .all(|h| h["role"] != "RESELLER_ADMIN"),
        "{listed}"
    );

    // The last reseller admin cannot demote itself.
    let (status, body) = app
        .call(
            api,
            ra,
            "host/update",
            json!({"host_id": ra_id, "role": "COMPANY_ADMIN"}),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("last_reseller_admin"))
    );

    // A password change ends the host's other sessions but not the one that made it.
    let (h_id, first) = app
        .host(&alpha, admin_company, "pw@alpha.test", "HOST")
        .await;
    let second = app.login(api, "pw@alpha.test", "HostPass123").await;
    app.ok(
        api,
        &second,
        "host/update",
        json!({"host_id": h_id, "password": "Changed1234"}),
    )
    .await;
    let (status, _) = app
        .call(api, &first, "host/get", json!({"host_id": h_id}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.ok(api, &second, "host/get", json!({"host_id": h_id}))
        .await;
    app.login(api, "pw@alpha.test", "Changed1234").await;

    // Demoted admins lose their API tokens.
    let (ca_id, _) = app
        .host(&alpha, admin_company, "ca2@alpha.test", "COMPANY_ADMIN")
        .await;
    let ca2 = app.login(api, "ca2@alpha.test", "HostPass123").await;
    let token = app
        .ok(api, &ca2, "api_token/create", json!({"name": "t"}))
        .await["api_token"]
        .as_str()
        .expect("token")
        .to_string();
    app.ok(
        api,
        ra,
        "host/update",
        json!({"host_id": ca_id, "role": "HOST"}),
    )
    .await;
    let (status, _) = app
        .call(api, &token, "host/get", json!({"host_id": ca_id}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Wrong HTTP method: a JSON answer like every other error.
    let response = app
        .client
        .get(format!("http://{}/enterprise_api/company/list", app.addr))
        .header("host", api)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "method_not_allowed");
}
