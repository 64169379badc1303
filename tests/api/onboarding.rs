//! Host onboarding: the welcome email through a real SMTP server, and the password creation page.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row;

use crate::{
    helpers::{Backend, TestApp},
    on_each_backend,
};

/// Undoes quoted-printable soft breaks and escapes, enough to read links in a message.
fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'=' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn form_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {html}"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

on_each_backend!(welcome_email_and_password_creation);

async fn welcome_email_and_password_creation(app: TestApp) {
    let r = app.alpha.clone();
    let company = app.company(&r, "joe").await;
    let created = app
        .ok(
            &r.api_host,
            &r.admin_token,
            "host/create",
            json!({"company_id": company, "name": "Nina New", "email": "nina@joe.tld"}),
        )
        .await;
    let link = created["password_creation_link"]
        .as_str()
        .expect("link")
        .to_string();

    let mail = app.wait_for_mail("nina@joe.tld").await;
    assert_eq!(mail.from, "no-reply@alpha.test");
    let body = decode_quoted_printable(&mail.data);
    assert!(
        body.contains("From: \"Alpha Video\" <no-reply@alpha.test>"),
        "{body}"
    );
    assert!(body.contains("Subject: Welcome to Alpha Video"), "{body}");
    assert!(
        body.contains(&link),
        "the welcome email carries the password link: {body}"
    );
    assert!(body.contains("/conf/call/"), "and the meeting room: {body}");

    // The link opens a form on the company's domain.
    let path = link
        .split_once(&format!(":{}", app.addr.port()))
        .expect("port in link")
        .1
        .to_string();
    let page = app.page("joe.alpha.test", &path).await;
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_string();
    assert!(
        page.headers()["cache-control"]
            .to_str()
            .expect("cc")
            .contains("no-store")
    );
    let html = page.text().await.expect("html");
    assert!(
        html.contains("nina@joe.tld") && html.contains("Alpha Video"),
        "{html}"
    );
    let csrf = form_value(&html, "csrf");

    let post = |form: Vec<(&'static str, String)>, cookie: Option<String>| {
        let mut request = app
            .client
            .post(format!("http://{}{path}", app.addr))
            .header("host", "joe.alpha.test")
            .form(&form);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    // Without the CSRF cookie the form is refused.
    let refused = post(
        vec![
            ("password", "NewPass123".into()),
            ("password_confirm", "NewPass123".into()),
            ("csrf", csrf.clone()),
        ],
        None,
    )
    .await
    .expect("post");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // Mismatched passwords re-show the form with the reason.
    let mismatch = post(
        vec![
            ("password", "NewPass123".into()),
            ("password_confirm", "Other123".into()),
            ("csrf", csrf.clone()),
        ],
        Some(cookie.clone()),
    )
    .await
    .expect("post");
    assert_eq!(mismatch.status(), StatusCode::BAD_REQUEST);
    assert!(
        mismatch
            .text()
            .await
            .expect("html")
            .contains("do not match")
    );
    let short = post(
        vec![
            ("password", "short".into()),
            ("password_confirm", "short".into()),
            ("csrf", csrf.clone()),
        ],
        Some(cookie.clone()),
    )
    .await
    .expect("post");
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    // A foreign company's domain does not know the link.
    app.company(&r, "other").await;
    assert_eq!(
        app.page("other.alpha.test", &path).await.status(),
        StatusCode::NOT_FOUND
    );

    let done = post(
        vec![
            ("password", "NewPass123".into()),
            ("password_confirm", "NewPass123".into()),
            ("csrf", csrf.clone()),
        ],
        Some(cookie.clone()),
    )
    .await
    .expect("post");
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.expect("html").contains("Password saved"));

    // The password works, and the link is spent.
    app.login("joe.alpha.test", "nina@joe.tld", "NewPass123")
        .await;
    assert_eq!(
        app.page("joe.alpha.test", &path).await.status(),
        StatusCode::GONE
    );
    let again = post(
        vec![
            ("password", "Another123".into()),
            ("password_confirm", "Another123".into()),
            ("csrf", csrf),
        ],
        Some(cookie),
    )
    .await
    .expect("post");
    assert_eq!(again.status(), StatusCode::GONE);

    // no_welcome_email sends nothing.
    app.ok(&r.api_host, &r.admin_token, "host/create", json!({"company_id": company, "name": "Q", "email": "quiet@joe.tld", "no_welcome_email": true}))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        app.mails()
            .iter()
            .all(|m| !m.to.contains(&"quiet@joe.tld".to_string()))
    );
}

async fn undeliverable_mail_waits_in_the_outbox(backend: Backend) {
    // Nothing listens on port 1: delivery fails and the message must stay queued.
    let app =
        TestApp::spawn_with(backend, |c| c.smtp_url = Some("smtp://127.0.0.1:1".into())).await;
    let r = app.alpha.clone();
    let company = app.company(&r, "joe").await;
    app.ok(
        &r.api_host,
        &r.admin_token,
        "host/create",
        json!({"company_id": company, "name": "Pat", "email": "pat@joe.tld"}),
    )
    .await;
    let mut attempts = 0;
    for _ in 0..100 {
        let row = sqlx::query("SELECT attempts, sent_at FROM mail_outbox")
            .fetch_one(&app.state.db.pool)
            .await
            .expect("row");
        attempts = row.try_get::<i64, _>("attempts").expect("attempts");
        assert!(
            row.try_get::<Option<i64>, _>("sent_at")
                .expect("sent_at")
                .is_none()
        );
        if attempts > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(attempts, 1, "one failed attempt recorded");

    // When a transport works again the same message goes out, here into the file outbox.
    sqlx::query("UPDATE mail_outbox SET next_attempt_at = 0")
        .execute(&app.state.db.pool)
        .await
        .expect("reschedule");
    let outbox = tempfile::tempdir().expect("dir");
    let transport = confab::mail::transport::Transport::Outbox(outbox.path().to_path_buf());
    let delivered = confab::mail::worker::deliver_due(&app.state.db, &transport)
        .await
        .expect("deliver");
    assert_eq!(delivered, 1);
    let files: Vec<_> = std::fs::read_dir(outbox.path())
        .expect("read dir")
        .collect();
    assert_eq!(files.len(), 1);
    let eml = std::fs::read_to_string(files[0].as_ref().expect("entry").path()).expect("eml");
    assert!(
        eml.contains("To: \"Pat\" <pat@joe.tld>") || eml.contains("To: Pat <pat@joe.tld>"),
        "{eml}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeliverable_mail_waits_in_the_outbox_sqlite() {
    undeliverable_mail_waits_in_the_outbox(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeliverable_mail_waits_in_the_outbox_postgres() {
    if crate::helpers::postgres_enabled() {
        undeliverable_mail_waits_in_the_outbox(Backend::Postgres).await;
    }
}
