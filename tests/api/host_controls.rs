//! A host signed in through `/auth` (or `/login`) gets host controls in its own room: the meeting
//! page knows it, and the signalling socket makes it moderator without the moderator PIN.

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::{
    helpers::TestApp,
    on_each_backend,
    sso::{Signable, auth_get, page_with_cookie, pair, session_cookie, signable},
};

/// Joins the host's room over the signalling socket (with `cookie`, if any) and returns the
/// `joined` answer.
async fn join_room(app: &TestApp, room: &Signable, cookie: Option<&str>, name: &str) -> Value {
    let mut request = format!("ws://{}/conf/call/{}/ws", app.addr, room.access_code)
        .into_client_request()
        .expect("request");
    let headers = request.headers_mut();
    headers.insert("host", room.hostname.parse().expect("host"));
    if let Some(cookie) = cookie {
        headers.insert("cookie", cookie.parse().expect("cookie"));
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket");
    ws.send(Message::Text(
        json!({"type": "join", "name": name}).to_string().into(),
    ))
    .await
    .expect("send join");
    loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("answer in time")
            .expect("open")
            .expect("message");
        if let Message::Text(text) = message {
            let answer: Value = serde_json::from_str(text.as_str()).expect("json");
            let _ = ws.close(None).await;
            return answer;
        }
    }
}

/// Signs `host` in on its company domain through `/auth` and returns the cookie pair.
async fn signed_in(app: &TestApp, host: &Signable, after_call_url: Option<&str>) -> String {
    let id = host.host_id.to_string();
    let mut query = vec![
        ("host_id", id.as_str()),
        ("login_token_public_key", host.login_key.as_str()),
    ];
    if let Some(url) = after_call_url {
        query.push(("after_call_url", url));
    }
    let response = auth_get(app, &host.hostname, &query).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    pair(&session_cookie(&response))
}

on_each_backend!(signed_in_hosts_moderate_their_own_room);

async fn signed_in_hosts_moderate_their_own_room(app: TestApp) {
    let joe = signable(&app, &app.alpha, "joe").await;
    // Another host of the same company, made before any meeting runs: on SQLite, host/create
    // can still meet `database is locked` while a meeting writes its records.
    let created = app
        .ok(
            &app.alpha.api_host,
            &app.alpha.admin_token,
            "host/create",
            json!({"company_id": joe.company_id, "name": "Colleague", "email": "colleague@joe.alpha.test", "no_welcome_email": true}),
        )
        .await;
    let colleague = Signable {
        host_id: created["host_id"].as_i64().expect("id"),
        login_key: created["login_token_public_key"]
            .as_str()
            .expect("key")
            .to_string(),
        name: "Colleague".into(),
        email: "colleague@joe.alpha.test".into(),
        access_code: created["access_code"]["number"]
            .as_str()
            .expect("code")
            .to_string(),
        meeting_url: created["meeting_url"].as_str().expect("url").to_string(),
        ..joe.clone()
    };
    let cookie = signed_in(&app, &joe, Some("https://partner.example/after")).await;

    // The meeting page knows the host and where it goes afterwards.
    let room_path = format!("/conf/call/{}", joe.access_code);
    let page = page_with_cookie(&app, &joe.hostname, &room_path, &cookie).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("data-host=\"1\"") && html.contains("host-note"),
        "{html}"
    );
    assert!(
        html.contains("data-after-call-url=\"https://partner.example/after\""),
        "{html}"
    );
    let anonymous = app
        .page(&joe.hostname, &room_path)
        .await
        .text()
        .await
        .expect("html");
    assert!(
        !anonymous.contains("data-host") && !anonymous.contains("after-call"),
        "{anonymous}"
    );

    // The socket makes the signed-in host moderator without its PIN; others stay guests.
    let joined = join_room(&app, &joe, Some(&cookie), "Joe").await;
    assert_eq!(
        (joined["type"].as_str(), joined["role"].as_str()),
        (Some("joined"), Some("moderator")),
        "{joined}"
    );
    let joined = join_room(&app, &joe, None, "Guest").await;
    assert_eq!(joined["role"], "guest", "{joined}");

    // Another host of the same company, signed in, is a guest in joe's room.
    let colleague_cookie = signed_in(&app, &colleague, None).await;
    let joined = join_room(&app, &joe, Some(&colleague_cookie), "Colleague").await;
    assert_eq!(joined["role"], "guest", "{joined}");
    let html = page_with_cookie(&app, &joe.hostname, &room_path, &colleague_cookie)
        .await
        .text()
        .await
        .expect("html");
    assert!(!html.contains("data-host"), "{html}");
}
