//! What one connection may cost the others: a client that stops reading is disconnected and
//! moderators can always remove it or end the meeting; chat is rate-limited per participant and
//! per room; names and chat lose bidirectional controls.

use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{Value, json};
use sqlx::Row;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::{
    bot::{Bot, Ws, connect_ws, next_json},
    helpers::TestApp,
    on_each_backend,
};

const ROOM: &str = "2345678";
const MODERATOR_PIN: &str = "8765432";
const HOST: &str = "joe.alpha.test";

/// Messages that reach a stalled client. Each `participant_updated` it is sent carries the
/// moderator's 100-character name (about 280 bytes), so this is several times what the
/// server's socket buffer (at most 4 MiB on Linux by default) and the client's can hold.
const FLOOD: usize = 40_000;
/// Messages sent before waiting for the server to have handled them all.
const BATCH: usize = 250;

type RawWs = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A participant that joins and then never reads again, with a receive buffer as small as the
/// system allows so that the server's writes block soon.
async fn stalled_client(app: &TestApp, name: &str) -> RawWs {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("receive buffer");
    let stream = socket.connect(app.addr).await.expect("connect");
    let mut request = format!("ws://{}/conf/call/{ROOM}/ws", app.addr)
        .into_client_request()
        .expect("request");
    request
        .headers_mut()
        .insert("host", HOST.parse().expect("host"));
    let (mut ws, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .expect("upgrade");
    let join = json!({"type": "join", "name": name}).to_string();
    ws.send(Message::Text(join.into())).await.expect("join");
    ws
}

/// A moderator with a media connection (so that it stays in the room) and a long name.
async fn moderator(app: &TestApp) -> Bot {
    let name = format!("Moderator {}", "m".repeat(90));
    Bot::join(app.addr, HOST, ROOM, &name, Some(MODERATOR_PIN), false).await
}

/// The participant id of the next participant to join, as `bot` hears it.
async fn next_arrival(bot: &mut Bot) -> String {
    let joined = bot
        .wait_event("participant_joined", Duration::from_secs(10))
        .await
        .expect("participant_joined");
    joined["participant"]["participant_id"]
        .as_str()
        .expect("id")
        .to_string()
}

/// Makes the server send the stalled client far more than it can take, in batches that the
/// server has handled (`pong`) before the next is sent: the stalled client's session has time
/// to write each batch until its socket stops taking data. Returns the `participant_left`
/// messages that arrived meanwhile.
async fn flood(bot: &mut Bot) -> Vec<Value> {
    let mut departures = Vec::new();
    for _ in 0..FLOOD / BATCH {
        for i in 0..BATCH {
            bot.send(json!({"type": "raise_hand", "raised": i % 2 == 0}));
        }
        bot.send(json!({"type": "ping"}));
        loop {
            let event = tokio::time::timeout(Duration::from_secs(10), bot.events.recv())
                .await
                .expect("pong in time")
                .expect("moderator connected");
            match event["type"].as_str() {
                Some("pong") => break,
                Some("participant_left") => departures.push(event),
                _ => {}
            }
        }
    }
    departures
}

/// The reason of the `participant_left` about `participant`, among `seen` or arriving within
/// `within`.
async fn departure_of(
    bot: &mut Bot,
    seen: Vec<Value>,
    participant: &str,
    within: Duration,
) -> Option<String> {
    let reason = |left: &Value| left["reason"].as_str().map(str::to_string);
    if let Some(left) = seen.iter().find(|l| l["participant_id"] == participant) {
        return reason(left);
    }
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = bot
            .wait_event("participant_left", deadline - tokio::time::Instant::now())
            .await?;
        if left["participant_id"] == participant {
            return reason(&left);
        }
    }
}

/// Whether the database records `participant` as having left.
async fn recorded_as_left(app: &TestApp, participant: &str) -> bool {
    sqlx::query("SELECT left_at FROM meeting_participants WHERE participant_key = $1")
        .bind(participant)
        .fetch_one(&app.state.db.pool)
        .await
        .expect("occupant")
        .try_get::<Option<i64>, _>("left_at")
        .expect("left_at")
        .is_some()
}

/// Joins as a plain guest without media; returns the socket and the `joined` answer.
async fn guest(app: &TestApp, name: &str) -> (Ws, Value) {
    let mut ws = connect_ws(app.addr, HOST, ROOM).await;
    let join = json!({"type": "join", "name": name}).to_string();
    ws.send(Message::Text(join.into())).await.expect("join");
    let joined = next_json(&mut ws).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    (ws, joined)
}

on_each_backend!(a_client_that_stops_reading_is_disconnected);

async fn a_client_that_stops_reading_is_disconnected(app: TestApp) {
    app.joe_room(ROOM, Some(MODERATOR_PIN)).await;
    let mut mo = moderator(&app).await;
    let _ghost = stalled_client(&app, "Ghost").await;
    let ghost = next_arrival(&mut mo).await;
    let seen = flood(&mut mo).await;
    // Its socket stops taking data within the flood; from then on it has 10 seconds at most.
    // (Its media connection, never made, would only end it 30 s after joining.)
    let reason = departure_of(&mut mo, seen, &ghost, Duration::from_secs(10))
        .await
        .expect("the stalled client is disconnected");
    assert_eq!(reason, "connection_lost");
    assert!(recorded_as_left(&app, &ghost).await);
    let (_newcomer, joined) = guest(&app, "Newcomer").await;
    let present: Vec<&str> = joined["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .filter_map(|p| p["participant_id"].as_str())
        .collect();
    assert!(!present.contains(&ghost.as_str()), "{joined}");
    mo.close().await;
}

/// Runs a story on a server whose writes to clients may stall for a minute: a stalled client
/// then stays in the room until a moderator acts, which is what these stories look at.
macro_rules! with_patient_writes {
    ($story:ident) => {
        mod $story {
            fn patient(config: &mut confab::config::Config) {
                config.signal_write_timeout_secs = 60;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let backend = $crate::helpers::Backend::Sqlite;
                super::$story($crate::helpers::TestApp::spawn_with(backend, patient).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::helpers::TestApp::spawn_postgres_with(patient).await {
                    super::$story(app).await;
                }
            }
        }
    };
}

with_patient_writes!(moderators_remove_a_stalled_client_and_end_its_meeting);

async fn moderators_remove_a_stalled_client_and_end_its_meeting(app: TestApp) {
    app.joe_room(ROOM, Some(MODERATOR_PIN)).await;
    let mut mo = moderator(&app).await;

    // Removal: the stalled client is out of the room and recorded as left at once, although its
    // session is stuck in a write with its queue full behind it.
    let _first = stalled_client(&app, "First").await;
    let first = next_arrival(&mut mo).await;
    let seen = flood(&mut mo).await;
    mo.send(json!({"type": "remove_participant", "participant_id": first}));
    let reason = departure_of(&mut mo, seen, &first, Duration::from_secs(10))
        .await
        .expect("the removal takes effect");
    assert_eq!(reason, "removed");
    assert!(recorded_as_left(&app, &first).await);

    // Ending: everyone, the stalled client included, is recorded as left and the session ends.
    let _second = stalled_client(&app, "Second").await;
    let second = next_arrival(&mut mo).await;
    flood(&mut mo).await;
    mo.send(json!({"type": "end_meeting"}));
    mo.wait_event("ended", Duration::from_secs(10))
        .await
        .expect("the moderator sees the end");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let open: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM meeting_sessions WHERE ended_at IS NULL")
                .fetch_one(&app.state.db.pool)
                .await
                .expect("count")
                .try_get("n")
                .expect("n");
        if open == 0 && recorded_as_left(&app, &second).await {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the meeting did not end"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    mo.close().await;
}

/// Sends `count` chat messages at once, then a `ping`; returns the `rate_limited` errors this
/// connection got before the `pong`.
async fn chat_burst(ws: &mut Ws, count: usize) -> Vec<Value> {
    for i in 0..count {
        let chat = json!({"type": "chat", "text": format!("message {i}")}).to_string();
        ws.send(Message::Text(chat.into())).await.expect("chat");
    }
    ws.send(Message::Text(json!({"type": "ping"}).to_string().into()))
        .await
        .expect("ping");
    let mut refused = Vec::new();
    loop {
        let message = next_json(ws).await;
        match message["type"].as_str() {
            Some("pong") => return refused,
            Some("error") => {
                assert_eq!(message["code"], "rate_limited", "{message}");
                assert!(
                    message["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("too")),
                    "{message}"
                );
                refused.push(message);
            }
            _ => {}
        }
    }
}

on_each_backend!(chat_floods_are_refused_and_not_stored);

async fn chat_floods_are_refused_and_not_stored(app: TestApp) {
    app.joe_room(ROOM, Some(MODERATOR_PIN)).await;
    let started = std::time::Instant::now();
    // One participant: a burst of 10, then one a second.
    let (mut flooder, _) = guest(&app, "Flooder").await;
    let refused = chat_burst(&mut flooder, 40).await;
    let refill = started.elapsed().as_secs() as usize + 1;
    let stored = app.count("chat_messages").await as usize;
    assert_eq!(stored + refused.len(), 40);
    assert!((10..=10 + refill).contains(&stored), "{stored} stored");
    // The connection stays open and usable.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(chat_burst(&mut flooder, 1).await.is_empty());

    // A room: five participants with allowance left each cannot pass the room's 30.
    let mut crowd = Vec::new();
    for i in 0..5 {
        crowd.push(guest(&app, &format!("Crowd {i}")).await.0);
    }
    let before = app.count("chat_messages").await as usize;
    let started = std::time::Instant::now();
    let mut refused = 0;
    for ws in &mut crowd {
        refused += chat_burst(ws, 10).await.len();
    }
    let refill = 5 * (started.elapsed().as_secs() as usize + 1);
    let stored = app.count("chat_messages").await as usize - before;
    assert_eq!(stored + refused, 50);
    assert!(stored <= 30 + refill, "{stored} stored by the room");
    assert!(refused > 0);
}

on_each_backend!(names_and_chat_lose_bidirectional_controls);

async fn names_and_chat_lose_bidirectional_controls(app: TestApp) {
    app.joe_room(ROOM, Some(MODERATOR_PIN)).await;
    let (mut watcher, _) = guest(&app, "Watcher").await;
    let (mut spoofer, _) = guest(&app, "\u{202E}evil\u{2066}").await;
    let arrival = next_json(&mut watcher).await;
    assert_eq!(arrival["type"], "participant_joined", "{arrival}");
    assert_eq!(arrival["participant"]["name"], "evil");
    let text = "\u{200F}look: \u{202E}gnp.exe\u{202C}\u{061C}";
    let chat = json!({"type": "chat", "text": text}).to_string();
    spoofer
        .send(Message::Text(chat.into()))
        .await
        .expect("chat");
    let chat = next_json(&mut watcher).await;
    assert_eq!(chat["type"], "chat", "{chat}");
    assert_eq!(chat["name"], "evil");
    assert_eq!(chat["text"], "look: gnp.exe");
    let stored: String = sqlx::query("SELECT text FROM chat_messages")
        .fetch_one(&app.state.db.pool)
        .await
        .expect("stored chat")
        .try_get("text")
        .expect("text");
    assert_eq!(stored, "look: gnp.exe");
    // A name of nothing but controls is no name.
    let mut ws = connect_ws(app.addr, HOST, ROOM).await;
    let join = json!({"type": "join", "name": "\u{202E}\u{202C}"}).to_string();
    ws.send(Message::Text(join.into())).await.expect("join");
    assert_eq!(next_json(&mut ws).await["code"], "invalid_name");
}

on_each_backend!(a_guest_cannot_flood_everyone_with_state_changes);

/// Every `raise_hand` or `media_state` reaches every member's queue: without a limit one guest
/// could fill them all and have everyone else disconnected.
async fn a_guest_cannot_flood_everyone_with_state_changes(app: TestApp) {
    app.joe_room(ROOM, Some(MODERATOR_PIN)).await;
    let (mut watcher, _) = guest(&app, "Watcher").await;
    let (mut flooder, _) = guest(&app, "Flooder").await;
    let started = std::time::Instant::now();
    for i in 0..2000 {
        let change = match i % 2 {
            0 => json!({"type": "raise_hand", "raised": i % 4 == 0}),
            _ => json!({"type": "media_state", "audio_muted": i % 3 == 0}),
        };
        flooder
            .send(Message::Text(change.to_string().into()))
            .await
            .expect("change");
    }
    flooder
        .send(Message::Text(json!({"type": "ping"}).to_string().into()))
        .await
        .expect("ping");
    let mut refused = 0;
    loop {
        let message = next_json(&mut flooder).await;
        match message["type"].as_str() {
            Some("pong") => break,
            Some("error") => {
                assert_eq!(message["code"], "rate_limited", "{message}");
                refused += 1;
            }
            _ => {}
        }
    }
    let refill = 2 * (started.elapsed().as_secs() as usize + 1);
    assert!(refused >= 2000 - 20 - refill, "{refused} refused");

    // The watcher heard a bounded number of updates and is still in the meeting.
    watcher
        .send(Message::Text(json!({"type": "ping"}).to_string().into()))
        .await
        .expect("ping");
    let mut updates = 0;
    loop {
        let message = next_json(&mut watcher).await;
        match message["type"].as_str() {
            Some("pong") => break,
            Some("participant_updated") => updates += 1,
            Some("participant_left") => panic!("nobody left: {message}"),
            _ => {}
        }
    }
    assert!(
        updates <= 20 + refill,
        "{updates} updates reached the watcher"
    );
}
