//! PIN guessing: wrong PINs are counted per room as well as per address, so spreading guesses
//! over addresses does not help; new PINs have at least six digits and old short ones still work.

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    bot::{connect_ws, next_json},
    helpers::{Backend, TestApp},
};

/// The first answer to a join with `fields` in the room `code`.
async fn join(app: &TestApp, code: &str, fields: Value) -> Value {
    let mut ws = connect_ws(app.addr, "joe.alpha.test", code).await;
    let mut message = json!({"type": "join", "name": "Guest"});
    if let (Some(message), Value::Object(fields)) = (message.as_object_mut(), fields) {
        message.extend(fields);
    }
    ws.send(Message::Text(message.to_string().into()))
        .await
        .expect("send");
    next_json(&mut ws).await
}

async fn pin_entry_locks_per_room(backend: Backend) {
    // The address budget is out of the way: only the room's own counter can stop the guesses.
    let app = TestApp::spawn_with(backend, |c| c.joins_per_address_per_minute = 1000).await;
    app.joe_room("1234567", Some("9876543")).await;
    let conference = app
        .pin_conference(
            "joe@joe.tld",
            json!({"participant_emails": [{"email": "mod@joe.tld", "moderator": true}]}),
        )
        .await;
    let code = conference["one_time_access_code"].to_string();
    let token = conference["moderator_join_urls"][0]["join_url"]
        .as_str()
        .and_then(|l| l.split("mod=").nth(1))
        .expect("moderator link")
        .to_string();
    let other = app.pin_conference("joe@joe.tld", json!({})).await;
    let other_code = other["one_time_access_code"].to_string();

    for guess in 0..10 {
        let answer = join(&app, &code, json!({"pin": format!("{guess:06}")})).await;
        assert_eq!(answer["code"], "invalid_pin", "guess {guess}: {answer}");
    }
    // Now even the right PIN is refused, with a reason and a time.
    let locked = join(&app, &code, json!({"pin": "432198"})).await;
    assert_eq!(locked["code"], "pin_locked", "{locked}");
    assert!(
        locked["message"]
            .as_str()
            .is_some_and(|m| m.contains("seconds")),
        "{locked}"
    );
    // So is a moderator PIN guess; the moderator link still admits.
    let locked = join(&app, &code, json!({"moderator_pin": "9876543"})).await;
    assert_eq!(locked["code"], "pin_locked", "{locked}");
    let moderator = join(&app, &code, json!({"moderator_token": token})).await;
    assert_eq!(moderator["role"], "moderator", "{moderator}");
    // Another room of the same host is not affected.
    let guest = join(&app, &other_code, json!({"pin": "432198"})).await;
    assert_eq!(guest["role"], "guest", "{guest}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pin_entry_locks_per_room_sqlite() {
    pin_entry_locks_per_room(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pin_entry_locks_per_room_postgres() {
    if crate::helpers::postgres_enabled() {
        pin_entry_locks_per_room(Backend::Postgres).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_pins_need_six_digits_and_old_short_ones_still_work() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let company = app.joe_room("1234567", None).await;
    let r = app.alpha.clone();
    let hosts = app
        .ok(
            &r.api_host,
            &r.admin_token,
            "host/list",
            json!({"company_id": company}),
        )
        .await;
    let host_id = hosts["hosts"][0]["host_id"].clone();
    let start = (chrono::Utc::now() + chrono::Duration::minutes(5))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let (status, body) = app
        .call(
            &r.api_host,
            &r.admin_token,
            "conference/create",
            json!({
            "host_id": host_id, "subject": "Short", "start": start, "time_zone": "UTC",
            "duration": 30, "one_time_access_code": true, "security_pin": "4321"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("security_pin:")),
        "{body}"
    );
    let (status, body) = app
        .call(
            &r.api_host,
            &r.admin_token,
            "host/update",
            json!({"host_id": host_id, "moderator_pin": "1111"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("moderator_pin:")),
        "{body}"
    );

    // A four-digit PIN stored before the rule still opens its room.
    let conference = app.pin_conference("joe@joe.tld", json!({})).await;
    let id = conference["conference_id"].as_i64().expect("id");
    sqlx::query("UPDATE conferences SET security_pin = '4321' WHERE id = $1")
        .bind(id)
        .execute(&app.state.db.pool)
        .await
        .expect("store an old PIN");
    let code = conference["one_time_access_code"].to_string();
    let guest = join(&app, &code, json!({"pin": "4321"})).await;
    assert_eq!(guest["role"], "guest", "{guest}");
}
