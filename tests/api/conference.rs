//! `conference/*`: the seed's requests, validation, scope, `active`, and the meeting room's view.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    calendar::{invite, wait_for_mails},
    helpers::TestApp,
    on_each_backend,
};

/// The seed's first `conference/create` request, as printed (host ids are filled in by the test).
fn seed_request() -> Value {
    json!({
        "auth_token": "dd6d5d51-9ea5-4c4c-82c8-677267aece98",
        "host_id": 1,
        "subject": "Test Conference",
        "agenda": "An agenda",
        "start": "2020-09-19 13:00:00",
        "time_zone": "Europe/London",
        "duration": 60,
        "auto_record": "none",
        "auto_transcribe": false,
        "one_time_access_code": true,
        "security_pin": "123456",
        "mute_mode": "conversation",
        "participants": [ 2, 3 ]
    })
}

on_each_backend!(seed_requests_answer_every_field);

async fn seed_requests_answer_every_field(app: TestApp) {
    let r = app.alpha.clone();
    let company = app.company(&r, "joe").await;
    let (h1, _) = app.host(&r, company, "john@joe.tld", "HOST").await;
    let (h2, _) = app.host(&r, company, "mary@joe.tld", "HOST").await;
    let (h3, _) = app.host(&r, company, "boss@joe.tld", "COMPANY_ADMIN").await;
    let port = app.addr.port();

    // Form one: participants as host ids.
    let mut body = seed_request();
    body["host_id"] = json!(h1);
    body["participants"] = json!([h2, h3]);
    let c = app
        .ok(&r.api_host, &r.admin_token, "conference/create", body)
        .await;
    let code = c["one_time_access_code"]
        .as_u64()
        .expect("a generated number");
    assert_eq!(code.to_string().len(), 9, "{c}");
    let expected = json!({
        "conference_id": c["conference_id"],
        "host_id": h1,
        "company_id": company,
        "subject": "Test Conference",
        "agenda": "An agenda",
        "start": "2020-09-19 13:00:00",
        "end_time": "2020-09-19 14:00:00",
        "active": false,
        "time_zone": "Europe/London",
        "duration": 60,
        "auto_record": "none",
        "auto_transcribe": false,
        "one_time_access_code": code,
        "security_pin": "123456",
        "mute_mode": "conversation",
        "participants": [h1, h2, h3],
        "participant_emails": [],
        "join_url": format!("http://joe.alpha.test:{port}/conf/call/{code}"),
        "livestream_url": format!("http://joe.alpha.test:{port}/livestream/{code}"),
        "moderator_join_url": c["moderator_join_url"],
        "moderator_join_urls": [{"email": "boss@joe.tld", "join_url": c["moderator_join_urls"][0]["join_url"]}],
        "sequence": 0,
        "created_at": c["created_at"],
        "updated_at": c["updated_at"],
        "message": "Conference created",
    });
    assert_eq!(c, expected);
    assert!(c["conference_id"].is_i64());
    let host_link = c["moderator_join_url"].as_str().expect("host link");
    assert!(host_link.starts_with(&format!(
        "http://joe.alpha.test:{port}/conf/call/{code}?mod="
    )));
    // get shows the same conference without the one-time moderator links.
    let id = c["conference_id"].as_i64().expect("id");
    let got = app
        .ok(
            &r.api_host,
            &r.admin_token,
            "conference/get",
            json!({"conference_id": id}),
        )
        .await;
    assert_eq!(got["participants"], json!([h1, h2, h3]));
    assert_eq!(got["one_time_access_code"], json!(code));
    assert!(got.get("moderator_join_url").is_none(), "{got}");
    // A past conference gets its invitations but no reminders.
    let mails = wait_for_mails(&app, "mary@joe.tld", 1, 10).await;
    assert_eq!(invite(&mails[0]).method, "REQUEST");
    assert_eq!(app.count("scheduled_jobs").await, 0);

    // Form two: participant_emails (the seed's typographic quotes made plain).
    let mut body = seed_request();
    body.as_object_mut().expect("object").remove("participants");
    body["host_id"] = json!(h1);
    body["one_time_access_code"] = json!(false);
    body["participant_emails"] = json!([
        {"email": "bob@RoyalTeck.com", "moderator": true},
        {"email": "alice@RoyalTeck.com", "moderator": false}
    ]);
    let c = app
        .ok(&r.api_host, &r.admin_token, "conference/create", body)
        .await;
    assert_eq!(c["one_time_access_code"], json!(false));
    assert_eq!(c["participants"], json!([h1]));
    assert_eq!(
        c["participant_emails"],
        json!([
            {"email": "bob@royalteck.com", "moderator": true},
            {"email": "alice@royalteck.com", "moderator": false}
        ])
    );
    // Without a one-time code the conference meets in the host's personal room.
    let host = app
        .ok(
            &r.api_host,
            &r.admin_token,
            "host/get",
            json!({"host_id": h1}),
        )
        .await;
    assert_eq!(c["join_url"], host["meeting_url"]);
    assert_eq!(c["livestream_url"], host["livestream_url"]);
    let links = c["moderator_join_urls"].as_array().expect("links");
    assert_eq!(links.len(), 1, "{c}");
    assert_eq!(links[0]["email"], "bob@royalteck.com");
    let bob = wait_for_mails(&app, "bob@royalteck.com", 1, 10).await;
    assert_eq!(
        invite(&bob[0]).url,
        links[0]["join_url"].as_str().expect("url")
    );
    let alice = wait_for_mails(&app, "alice@royalteck.com", 1, 10).await;
    assert_eq!(invite(&alice[0]).url, c["join_url"].as_str().expect("url"));
}

on_each_backend!(bad_input_is_refused_naming_the_field_and_writes_nothing);

async fn bad_input_is_refused_naming_the_field_and_writes_nothing(app: TestApp) {
    let r = app.alpha.clone();
    let a = app.company(&r, "a").await;
    let b = app.company(&r, "b").await;
    let (h, _) = app.host(&r, a, "h@a.tld", "HOST").await;
    let (foreign, _) = app.host(&r, b, "f@b.tld", "HOST").await;
    let good = json!({
        "host_id": h, "subject": "Plan", "start": "2030-07-01 10:00:00",
        "time_zone": "Europe/London", "duration": 30,
        "participant_emails": [{"email": "ok@x.tld"}]
    });
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let tables = [
        "conferences",
        "conference_invitees",
        "scheduled_jobs",
        "mail_outbox",
    ];
    let mut before = Vec::new();
    for t in tables {
        before.push(app.count(t).await);
    }
    let cases = [
        (with("time_zone", json!("Mars/Olympus")), "time_zone:"),
        (with("time_zone", json!("")), "time_zone:"),
        (with("start", json!("2030-03-31 01:30:00")), "start:"), // skipped by BST
        (with("start", json!("2030-07-01T10:00")), "start:"),
        (with("start", json!("2030-02-30 10:00:00")), "start:"),
        (with("duration", json!(0)), "duration:"),
        (with("duration", json!(1441)), "duration:"),
        (with("duration", json!("long")), "duration:"),
        (
            with(
                "participant_emails",
                json!([{"email": "ok@x.tld"}, {"email": "not-an-email"}]),
            ),
            "participant_emails[1].email:",
        ),
        (
            with("participant_emails", json!([{"email": "a b@x.tld"}])),
            "participant_emails[0].email:",
        ),
        (with("participants", json!([foreign])), "participants[0]:"),
        (
            with("participants", json!([h, 999_999])),
            "participants[1]:",
        ),
        (with("participants", json!([-1])), "participants[0]:"),
        (with("security_pin", json!("12ab")), "security_pin:"),
        (with("security_pin", json!("123")), "security_pin:"),
        (with("mute_mode", json!("silent")), "mute_mode:"),
        (with("auto_record", json!("tape")), "auto_record:"),
        (with("subject", json!("  ")), "subject:"),
        (with("agenda", json!("x".repeat(4001))), "agenda:"),
    ];
    for (body, field) in cases {
        let (status, json) = app
            .call(
                &r.api_host,
                &r.admin_token,
                "conference/create",
                body.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {json}");
        let message = json["message"].as_str().expect("message");
        assert!(
            message.starts_with(field),
            "{body}: expected {field}, got {message}"
        );
    }
    let mut missing = good.clone();
    missing.as_object_mut().expect("object").remove("subject");
    let (status, json) = app
        .call(&r.api_host, &r.admin_token, "conference/create", missing)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"], "missing_field");
    assert_eq!(json["message"], "subject: is required");
    for (t, n) in tables.iter().zip(&before) {
        assert_eq!(app.count(t).await, *n, "{t} changed");
    }
    // The same request, repaired, goes through.
    let created = app
        .ok(&r.api_host, &r.admin_token, "conference/create", good)
        .await;
    assert_eq!(app.count("conferences").await, before[0] + 1);

    // A refused update changes nothing either: same SEQUENCE, same invitees, no mail.
    let id = created["conference_id"].clone();
    crate::calendar::wait_for_mails(&app, "ok@x.tld", 1, 10).await;
    let outbox = app.count("mail_outbox").await;
    let updates = [
        (
            json!({"conference_id": id, "start": "2030-03-31 01:30:00"}),
            "start:",
        ),
        (
            json!({"conference_id": id, "time_zone": "Europe/Nowhere"}),
            "time_zone:",
        ),
        (json!({"conference_id": id, "duration": 2000}), "duration:"),
        (
            json!({"conference_id": id, "participants": [foreign]}),
            "participants[0]:",
        ),
        (
            json!({"conference_id": id, "participant_emails": [{"email": "@x"}]}),
            "participant_emails[0].email:",
        ),
        (
            json!({"conference_id": id, "security_pin": "x1"}),
            "security_pin:",
        ),
        (
            json!({"conference_id": id, "mute_mode": "loud"}),
            "mute_mode:",
        ),
    ];
    for (body, field) in updates {
        let (status, json) = app
            .call(
                &r.api_host,
                &r.admin_token,
                "conference/update",
                body.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {json}");
        let message = json["message"].as_str().expect("message");
        assert!(
            message.starts_with(field),
            "{body}: expected {field}, got {message}"
        );
    }
    let after = app
        .ok(
            &r.api_host,
            &r.admin_token,
            "conference/get",
            json!({"conference_id": id}),
        )
        .await;
    assert_eq!(after["sequence"], 0);
    assert_eq!(after["start"], "2030-07-01 10:00:00");
    assert_eq!(
        after["participant_emails"],
        json!([{"email": "ok@x.tld", "moderator": false}])
    );
    assert_eq!(app.count("mail_outbox").await, outbox);
}

on_each_backend!(scope_follows_the_host_rules);

async fn scope_follows_the_host_rules(app: TestApp) {
    let r = app.alpha.clone();
    let api = r.api_host.clone();
    let a = app.company(&r, "a").await;
    let b = app.company(&r, "b").await;
    let (h1, t1) = app.host(&r, a, "h1@a.tld", "HOST").await;
    let (h2, t2) = app.host(&r, a, "h2@a.tld", "HOST").await;
    let (_, ta) = app.host(&r, a, "admin@a.tld", "COMPANY_ADMIN").await;
    let (hb, _) = app.host(&r, b, "hb@b.tld", "HOST").await;
    let body = |host: Option<i64>, start: &str| {
        let mut b = json!({"subject": "S", "start": start, "time_zone": "UTC", "duration": 30});
        if let Some(id) = host {
            b["host_id"] = json!(id);
        }
        b
    };
    let status = |(s, _): (StatusCode, Value)| s.as_u16();

    // A host schedules for itself only.
    let own = app
        .ok(
            &api,
            &t1,
            "conference/create",
            body(None, "2030-01-01 10:00:00"),
        )
        .await;
    assert_eq!(own["host_id"], json!(h1));
    assert_eq!(
        status(
            app.call(
                &api,
                &t1,
                "conference/create",
                body(Some(h2), "2030-01-01 10:00:00")
            )
            .await
        ),
        404
    );
    // A company admin for its company's hosts.
    let by_admin = app
        .ok(
            &api,
            &ta,
            "conference/create",
            body(Some(h2), "2020-01-01 10:00:00"),
        )
        .await;
    assert_eq!(
        status(
            app.call(
                &api,
                &ta,
                "conference/create",
                body(Some(hb), "2030-01-01 10:00:00")
            )
            .await
        ),
        404
    );
    // A reseller admin for every company.
    let foreign = app
        .ok(
            &api,
            &r.admin_token,
            "conference/create",
            body(Some(hb), "2030-02-01 10:00:00"),
        )
        .await;
    let id = |c: &Value| c["conference_id"].as_i64().expect("id");
    let get = |cid: i64| json!({"conference_id": cid});

    assert_eq!(
        status(app.call(&api, &t1, "conference/get", get(id(&own))).await),
        200
    );
    assert_eq!(
        status(app.call(&api, &t2, "conference/get", get(id(&own))).await),
        404
    );
    assert_eq!(
        status(
            app.call(&api, &t2, "conference/get", get(id(&by_admin)))
                .await
        ),
        200
    );
    assert_eq!(
        status(app.call(&api, &ta, "conference/get", get(id(&own))).await),
        200
    );
    assert_eq!(
        status(
            app.call(&api, &ta, "conference/get", get(id(&foreign)))
                .await
        ),
        404
    );
    assert_eq!(
        status(
            app.call(
                &api,
                &t1,
                "conference/update",
                json!({"conference_id": id(&by_admin), "subject": "x"})
            )
            .await
        ),
        404
    );
    assert_eq!(
        status(
            app.call(&api, &ta, "conference/delete", get(id(&foreign)))
                .await
        ),
        404
    );
    // Another reseller sees nothing, whatever the id.
    let beta = app.beta.clone();
    assert_eq!(
        status(
            app.call(
                &beta.api_host,
                &beta.admin_token,
                "conference/get",
                get(id(&own))
            )
            .await
        ),
        404
    );
    assert_eq!(
        status(
            app.call(
                &beta.api_host,
                &beta.admin_token,
                "conference/delete",
                get(id(&own))
            )
            .await
        ),
        404
    );

    // Lists: a host sees its own, a company admin its company, a reseller admin what it filters.
    let ids = |v: &Value| -> Vec<i64> {
        v["conferences"]
            .as_array()
            .expect("list")
            .iter()
            .map(|c| c["conference_id"].as_i64().expect("id"))
            .collect()
    };
    let mine = app.ok(&api, &t1, "conference/list", json!({})).await;
    assert_eq!(ids(&mine), [id(&own)]);
    assert_eq!(
        status(
            app.call(&api, &t1, "conference/list", json!({"host_id": h2}))
                .await
        ),
        404
    );
    let company = app.ok(&api, &ta, "conference/list", json!({})).await;
    assert_eq!(ids(&company), [id(&by_admin), id(&own)]);
    assert_eq!(
        status(
            app.call(&api, &ta, "conference/list", json!({"company_id": b}))
                .await
        ),
        404
    );
    let of_b = app
        .ok(
            &api,
            &r.admin_token,
            "conference/list",
            json!({"company_id": b}),
        )
        .await;
    assert_eq!(ids(&of_b), [id(&foreign)]);
    let upcoming = app
        .ok(
            &api,
            &r.admin_token,
            "conference/list",
            json!({"filter": "upcoming"}),
        )
        .await;
    assert_eq!(ids(&upcoming), [id(&own), id(&foreign)]);
    assert_eq!(upcoming["total"], 2);
    let past = app
        .ok(
            &api,
            &r.admin_token,
            "conference/list",
            json!({"filter": "past"}),
        )
        .await;
    assert_eq!(ids(&past), [id(&by_admin)]);
    let page = app
        .ok(
            &api,
            &r.admin_token,
            "conference/list",
            json!({"limit": 1, "offset": 1}),
        )
        .await;
    assert_eq!(ids(&page), [id(&own)]);
    assert_eq!(page["total"], 3);
    let (s, bad) = app
        .call(
            &api,
            &r.admin_token,
            "conference/list",
            json!({"filter": "soon"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        bad["message"]
            .as_str()
            .expect("message")
            .starts_with("filter:")
    );

    // One-time codes share the namespace of personal room codes, both ways.
    let coded = app
        .ok(&api, &t1, "conference/create", json!({"subject": "C", "start": "2030-03-01 10:00:00", "time_zone": "UTC", "duration": 30, "one_time_access_code": true}))
        .await;
    let code = coded["one_time_access_code"]
        .as_u64()
        .expect("code")
        .to_string();
    let (s, json) = app
        .call(&api, &r.admin_token, "host/create", json!({"company_id": a, "name": "N", "email": "n@a.tld", "access_code": code, "no_welcome_email": true}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{json}");
    let (s, json) = app
        .call(
            &api,
            &r.admin_token,
            "host/update",
            json!({"host_id": h2, "access_code": code}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_the_conference_methods() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let response = app
        .page("reseller-admin.alpha.test", "/enterprise_api/openapi.json")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.expect("json");
    for verb in ["create", "get", "list", "update", "delete"] {
        let path = format!("/enterprise_api/conference/{verb}");
        assert!(
            doc["paths"][&path]["post"].is_object(),
            "openapi lacks {path}"
        );
    }
    let view = &doc["components"]["schemas"]["ConferenceView"]["properties"];
    for field in [
        "conference_id",
        "end_time",
        "active",
        "one_time_access_code",
        "join_url",
    ] {
        assert!(view[field].is_object(), "ConferenceView lacks {field}");
    }
}

on_each_backend!(deleting_hosts_keeps_conferences_consistent);

async fn deleting_hosts_keeps_conferences_consistent(app: TestApp) {
    let r = app.alpha.clone();
    let api = r.api_host.clone();
    let a = app.company(&r, "a").await;
    let (organiser, t) = app.host(&r, a, "o@a.tld", "HOST").await;
    let (participant, _) = app.host(&r, a, "p@a.tld", "HOST").await;
    let c = app
        .ok(
            &api,
            &t,
            "conference/create",
            json!({
                "subject": "S", "start": "2030-01-01 10:00:00", "time_zone": "UTC", "duration": 30,
                "participants": [participant]
            }),
        )
        .await;
    let get = json!({"conference_id": c["conference_id"]});
    app.ok(
        &api,
        &r.admin_token,
        "host/delete",
        json!({"host_id": participant}),
    )
    .await;
    // The deleted participant stays invited by email, and the conference still updates.
    let after = app.ok(&api, &t, "conference/get", get.clone()).await;
    assert_eq!(after["participants"], json!([organiser]));
    assert_eq!(
        after["participant_emails"],
        json!([{"email": "p@a.tld", "moderator": false}])
    );
    let updated = app
        .ok(
            &api,
            &t,
            "conference/update",
            json!({"conference_id": c["conference_id"], "subject": "T"}),
        )
        .await;
    assert_eq!(updated["participant_emails"], after["participant_emails"]);
    // Deleting the organiser deletes its conferences with their invitees and reminders.
    app.ok(
        &api,
        &r.admin_token,
        "host/delete",
        json!({"host_id": organiser}),
    )
    .await;
    let (status, _) = app.call(&api, &r.admin_token, "conference/get", get).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for table in ["conferences", "conference_invitees", "scheduled_jobs"] {
        assert_eq!(app.count(table).await, 0, "{table}");
    }
    // Deleting a company deletes its conferences too.
    let (_, t2) = app.host(&r, a, "q@a.tld", "HOST").await;
    app.ok(
        &api,
        &t2,
        "conference/create",
        json!({
            "subject": "S", "start": "2030-01-01 10:00:00", "time_zone": "UTC", "duration": 30,
            "participant_emails": [{"email": "x@y.tld"}]
        }),
    )
    .await;
    assert_eq!(app.count("conferences").await, 1);
    app.ok(
        &api,
        &r.admin_token,
        "company/delete",
        json!({"company_id": a}),
    )
    .await;
    for table in ["conferences", "conference_invitees", "scheduled_jobs"] {
        assert_eq!(app.count(table).await, 0, "{table} after company/delete");
    }
}
