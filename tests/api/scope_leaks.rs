//! What a caller learns beyond its scope through side channels: conference participants, the
//! `last_used_at` of API tokens, an ambiguous `Host` header.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{helpers::TestApp, on_each_backend};

fn conference(host_id: i64, participants: &[i64]) -> Value {
    let start = chrono::Utc::now() + chrono::Duration::days(2);
    json!({"host_id": host_id, "subject": "Sync", "start": start.format("%Y-%m-%d %H:%M:%S").to_string(),
           "time_zone": "UTC", "duration": 30, "participants": participants})
}

on_each_backend!(participants_reveal_nothing_to_hosts);

async fn participants_reveal_nothing_to_hosts(app: TestApp) {
    let alpha = app.alpha.clone();
    let api = alpha.api_host.as_str();
    let a1 = app.company(&alpha, "a1").await;
    let a2 = app.company(&alpha, "a2").await;
    let (ca_id, ca) = app.host(&alpha, a1, "boss@a1.tld", "COMPANY_ADMIN").await;
    let (h1_id, h1) = app.host(&alpha, a1, "h1@a1.tld", "HOST").await;
    let (h2_id, _) = app.host(&alpha, a2, "h2@a2.tld", "HOST").await;
    let (hb_id, _) = {
        let b1 = app.company(&app.beta, "b1").await;
        app.host(&app.beta, b1, "hb@b1.tld", "HOST").await
    };

    // A host invites a colleague admin by id; the answer does not show the admin's email.
    let created = app
        .ok(api, &h1, "conference/create", conference(h1_id, &[ca_id]))
        .await;
    assert_eq!(created["participants"], json!([h1_id, ca_id]));
    assert!(
        !created.to_string().contains("boss@a1.tld"),
        "a host sees an admin's email: {created}"
    );
    let id = created["conference_id"].as_i64().expect("id");
    for (method, body) in [
        ("conference/get", json!({"conference_id": id})),
        (
            "conference/update",
            json!({"conference_id": id, "subject": "Sync 2"}),
        ),
        ("conference/list", json!({})),
    ] {
        let answer = app.ok(api, &h1, method, body).await;
        assert!(
            !answer.to_string().contains("boss@a1.tld"),
            "{method}: {answer}"
        );
    }
    // Admins see the invitees' links with their emails.
    let by_admin = app
        .ok(api, &ca, "conference/create", conference(h1_id, &[ca_id]))
        .await;
    assert_eq!(by_admin["moderator_join_urls"][0]["email"], "boss@a1.tld");

    // Unknown ids, hosts of another company and of another reseller: one answer.
    let mut answers = Vec::new();
    for probe in [999_999, h2_id, hb_id] {
        let (status, body) = app
            .call(api, &h1, "conference/create", conference(h1_id, &[probe]))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{probe}: {body}");
        let message = body["message"].as_str().expect("message");
        answers.push((
            message.replace(&probe.to_string(), "<id>"),
            body["error"].clone(),
        ));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");

    // In the admin company, a host cannot invite the reseller admin: the same answer again.
    let ra_id = app
        .ok(api, &alpha.admin_token, "host/list", json!({}))
        .await["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .find(|h| h["role"] == "RESELLER_ADMIN")
        .expect("reseller admin")["host_id"]
        .as_i64()
        .expect("id");
    let admin_company = app
        .ok(
            api,
            &alpha.admin_token,
            "host/get",
            json!({"host_id": ra_id}),
        )
        .await["company_id"]
        .as_i64()
        .expect("company");
    let (staff_id, staff) = app
        .host(&alpha, admin_company, "staff@alpha.test", "HOST")
        .await;
    let (status, body) = app
        .call(
            api,
            &staff,
            "conference/create",
            conference(staff_id, &[ra_id]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        (
            body["message"]
                .as_str()
                .expect("message")
                .replace(&ra_id.to_string(), "<id>"),
            body["error"].clone()
        ),
        answers[0]
    );
    // The reseller admin may invite itself to a colleague's conference; the host keeps it when
    // it changes the conference, and does not see its email.
    let invited = app
        .ok(
            api,
            &alpha.admin_token,
            "conference/create",
            conference(staff_id, &[ra_id]),
        )
        .await;
    let changed = app
        .ok(
            api,
            &staff,
            "conference/update",
            json!({"conference_id": invited["conference_id"], "subject": "Renamed"}),
        )
        .await;
    assert_eq!(changed["participants"], json!([staff_id, ra_id]));
    assert!(
        !changed.to_string().contains(&alpha.admin_email),
        "{changed}"
    );
}

on_each_backend!(refused_api_tokens_are_not_marked_used);

async fn refused_api_tokens_are_not_marked_used(app: TestApp) {
    let alpha = app.alpha.clone();
    let created = app
        .ok(
            &alpha.api_host,
            &alpha.admin_token,
            "api_token/create",
            json!({"name": "integration"}),
        )
        .await;
    let token = created["api_token"].as_str().expect("token").to_string();
    let last_used = || async {
        app.ok(
            &alpha.api_host,
            &alpha.admin_token,
            "api_token/list",
            json!({}),
        )
        .await["api_tokens"][0]["last_used_at"]
            .clone()
    };
    // Presented on another reseller's hostname, the token does not exist there.
    let (status, body) = app
        .call(&app.beta.api_host, &token, "company/list", json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(last_used().await, Value::Null);
    // Accepted, it is.
    app.ok(&alpha.api_host, &token, "company/list", json!({}))
        .await;
    assert!(last_used().await.is_string());
}

/// Sends a raw HTTP/1.1 request and returns the status code and body.
async fn raw(app: &TestApp, request: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text}"));
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    (
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_string()
        },
    )
}

/// The payload of a chunked body (sizes in hex, each chunk followed by CRLF).
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

on_each_backend!(a_second_host_header_is_refused);

async fn a_second_host_header_is_refused(app: TestApp) {
    let alpha = app.alpha.clone();
    let body = json!({"auth_token": alpha.admin_token}).to_string();
    let api_call = |hosts: &[&str]| {
        let host_lines: String = hosts.iter().map(|h| format!("Host: {h}\r\n")).collect();
        format!(
            "POST /enterprise_api/company/list HTTP/1.1\r\n{host_lines}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    // One Host header: answered.
    let (status, _) = raw(&app, &api_call(&[&alpha.api_host])).await;
    assert_eq!(status, 200);
    // Two, in either order and even when equal: refused with a JSON error.
    for hosts in [
        [alpha.api_host.as_str(), app.beta.api_host.as_str()],
        [app.beta.api_host.as_str(), alpha.api_host.as_str()],
        [alpha.api_host.as_str(), alpha.api_host.as_str()],
    ] {
        let (status, answer) = raw(&app, &api_call(&hosts)).await;
        assert_eq!(status, 400, "{hosts:?}: {answer}");
        let json: Value = serde_json::from_str(&answer).unwrap_or_else(|_| panic!("{answer}"));
        assert_eq!(json["error"], "duplicate_host_header", "{json}");
        assert!(json["message"].is_string());
    }
    // Pages too.
    let (status, answer) = raw(
        &app,
        &format!(
            "GET /login HTTP/1.1\r\nHost: {}\r\nHost: {}\r\nconnection: close\r\n\r\n",
            alpha.api_host, app.beta.api_host
        ),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("duplicate_host_header"), "{answer}");
}
