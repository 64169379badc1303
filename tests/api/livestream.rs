//! Live stream viewers: hidden receive-only members of a room over the signalling socket, and
//! the `/livestream/<access_code>` player in headless Chromium.

use std::time::Duration;

use futures_util::SinkExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    bot::{Bot, Ws, connect_ws, next_json},
    browser::{browser, start_driver},
    helpers::{Backend, TestApp},
    meeting_page::{artifact, eval, wait_for},
};

const ROOM: &str = "1234567";
const MODERATOR_PIN: &str = "9876543";
const MAX_VIEWERS: u32 = 2;

/// A company `joe` with a host whose personal room is [`ROOM`]; returns the company hostname.
async fn room(app: &TestApp) -> String {
    app.joe_room(ROOM, Some(MODERATOR_PIN)).await;
    "joe.alpha.test".to_string()
}

/// Opens a socket and sends one `join`; returns the socket and the server's first answer.
async fn raw_join(app: &TestApp, host: &str, code: &str, join: Value) -> (Ws, Value) {
    let mut ws = connect_ws(app.addr, host, code).await;
    ws.send(Message::Text(join.to_string().into()))
        .await
        .expect("send join");
    let first = next_json(&mut ws).await;
    (ws, first)
}

/// The error a viewer gets for `message`.
async fn refused(viewer: &mut Bot, message: Value) -> Value {
    viewer.send(message.clone());
    viewer
        .wait_event("error", Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("no error for {message}"))
}

fn with_cap(config: &mut confab::config::Config) {
    config.livestream_max_viewers = MAX_VIEWERS;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_are_hidden_counted_refused_and_capped_sqlite() {
    let app = TestApp::spawn_with(Backend::Sqlite, with_cap).await;
    viewers_are_hidden_counted_refused_and_capped(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_are_hidden_counted_refused_and_capped_postgres() {
    if let Some(app) = TestApp::spawn_postgres_with(with_cap).await {
        viewers_are_hidden_counted_refused_and_capped(app).await;
    }
}

async fn viewers_are_hidden_counted_refused_and_capped(app: TestApp) {
    let host = room(&app).await;
    // A viewer before anyone is in: admitted, sees nobody, opens no meeting session.
    let (mut early, joined) =
        raw_join(&app, &host, ROOM, json!({"type": "join", "role": "viewer"})).await;
    assert_eq!(
        (joined["type"].as_str(), joined["role"].as_str()),
        (Some("joined"), Some("viewer")),
        "{joined}"
    );
    assert_eq!(joined["participants"], json!([]), "{joined}");
    assert_eq!(app.count("meeting_sessions").await, 0);
    early.close(None).await.expect("close");
    // Its departure is announced (counts go out at most once a second) before anyone else arrives.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let mut alice = Bot::join(app.addr, &host, ROOM, "Alice", Some(MODERATOR_PIN), true).await;
    let mut viewer = Bot::watch(app.addr, &host, ROOM, None).await;
    assert_eq!(viewer.role, "viewer");
    assert_eq!(
        viewer.joined["participants"][0]["name"], "Alice",
        "{}",
        viewer.joined
    );
    assert_eq!(viewer.joined["viewers"], 1, "{}", viewer.joined);
    // The room learns how many watch, and nothing else about the viewer.
    let count = alice
        .wait_event("viewers", Duration::from_secs(5))
        .await
        .expect("alice hears the count");
    assert_eq!(count["count"], 1, "{count}");

    // The viewer receives Alice's audio and video.
    let playing = viewer
        .wait_until(Duration::from_secs(15), |tracks| {
            tracks.len() == 2 && tracks.values().all(|t| t.packets >= 20)
        })
        .await;
    assert!(playing, "viewer received {:?}", viewer.received());

    // A participant joining later is told about Alice only, and the viewer count.
    let bob = Bot::join(app.addr, &host, ROOM, "Bob", None, false).await;
    let listed: Vec<&str> = bob.joined["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(listed, ["Alice"], "{}", bob.joined);
    assert_eq!(bob.joined["viewers"], 1, "{}", bob.joined);
    let seen = viewer
        .wait_event("participant_joined", Duration::from_secs(5))
        .await
        .expect("the viewer sees bob arrive");
    assert_eq!(seen["participant"]["name"], "Bob");

    // Everything but watching is refused, with a reason.
    for (message, reason) in [
        (json!({"type": "chat", "text": "hello"}), "cannot chat"),
        (
            json!({"type": "raise_hand", "raised": true}),
            "cannot raise a hand",
        ),
        (
            json!({"type": "media_state", "audio_muted": false}),
            "cannot send media",
        ),
        (
            json!({"type": "mute_participant", "participant_id": alice.participant_id}),
            "cannot mute anyone",
        ),
        (json!({"type": "mute_all"}), "cannot mute anyone"),
        (
            json!({"type": "remove_participant", "participant_id": alice.participant_id}),
            "cannot remove anyone",
        ),
        (
            json!({"type": "lock_room", "locked": true}),
            "cannot lock the meeting",
        ),
        (json!({"type": "end_meeting"}), "cannot end the meeting"),
    ] {
        let error = refused(&mut viewer, message.clone()).await;
        assert_eq!(error["code"], "forbidden", "{message}: {error}");
        let text = error["message"].as_str().unwrap_or_default();
        assert!(text.contains(reason), "{message}: {error}");
    }
    // An offer that would send media is refused: a viewer gets no media slot as a publisher.
    let sending = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendrecv\r\n";
    let error = refused(
        &mut viewer,
        json!({"type": "offer", "sdp": sending, "sources": {"cam": "camera"}}),
    )
    .await;
    assert_eq!(error["code"], "bad_offer", "{error}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let viewer_id = viewer.participant_id.clone();
    assert!(
        alice.received().values().all(|t| t.stream_id != viewer_id),
        "{:?}",
        alice.received()
    );
    while let Ok(event) = alice.events.try_recv() {
        assert_ne!(event["participant_id"], viewer_id.as_str(), "{event}");
        assert_ne!(
            event["participant"]["participant_id"],
            viewer_id.as_str(),
            "{event}"
        );
        assert!(event["type"] != "chat", "{event}");
    }
    // Only the two participants were recorded as occupants.
    assert_eq!(app.count("meeting_participants").await, 2);

    // A locked room still admits viewers, up to the cap.
    alice.send(json!({"type": "lock_room", "locked": true}));
    alice
        .wait_event("room_locked", Duration::from_secs(5))
        .await
        .expect("locked");
    let (second, joined) =
        raw_join(&app, &host, ROOM, json!({"type": "join", "role": "viewer"})).await;
    assert_eq!(joined["viewers"], 2, "{joined}");
    let count = alice
        .wait_event("viewers", Duration::from_secs(5))
        .await
        .expect("count 2");
    assert_eq!(count["count"], 2);
    let (_, full) = raw_join(&app, &host, ROOM, json!({"type": "join", "role": "viewer"})).await;
    assert_eq!(full["code"], "livestream_full", "{full}");
    assert!(
        full["message"]
            .as_str()
            .unwrap_or_default()
            .contains("full (2 viewers)"),
        "{full}"
    );
    // A viewer who leaves frees its seat and the count drops.
    drop(second);
    let count = alice
        .wait_event("viewers", Duration::from_secs(5))
        .await
        .expect("count back to 1");
    assert_eq!(count["count"], 1);

    // Ending the meeting ends the stream.
    alice.send(json!({"type": "end_meeting"}));
    viewer
        .wait_event("ended", Duration::from_secs(5))
        .await
        .expect("the viewer hears the end");
    drop(bob);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_viewers_is_counted_in_few_messages_sqlite() {
    let app = TestApp::spawn_with(Backend::Sqlite, with_many_joins).await;
    a_burst_of_viewers_is_counted_in_few_messages(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_viewers_is_counted_in_few_messages_postgres() {
    if let Some(app) = TestApp::spawn_postgres_with(with_many_joins).await {
        a_burst_of_viewers_is_counted_in_few_messages(app).await;
    }
}

/// All the burst's sockets come from one address.
fn with_many_joins(config: &mut confab::config::Config) {
    config.joins_per_address_per_minute = 100;
}

async fn a_burst_of_viewers_is_counted_in_few_messages(app: TestApp) {
    const BURST: usize = 40;
    let host = room(&app).await;
    let (mut alice, joined) = raw_join(
        &app,
        &host,
        ROOM,
        json!({"type": "join", "name": "Alice", "moderator_pin": MODERATOR_PIN}),
    )
    .await;
    assert_eq!(joined["type"], "joined", "{joined}");
    let viewer = json!({"type": "join", "role": "viewer"});
    let viewers = futures_util::future::join_all(
        (0..BURST).map(|_| raw_join(&app, &host, ROOM, viewer.clone())),
    )
    .await;
    for (_, joined) in &viewers {
        assert_eq!(joined["type"], "joined", "{joined}");
    }
    // Alice hears a few counts, ending on the final one.
    let mut counts = Vec::new();
    while counts.last() != Some(&BURST) {
        let message = next_json(&mut alice).await;
        if message["type"] == "viewers" {
            counts.push(message["count"].as_u64().unwrap_or_default() as usize);
        }
    }
    assert!(counts.len() <= 4, "{BURST} arrivals, counts {counts:?}");
    // No other count follows the final one.
    let quiet = tokio::time::Instant::now() + Duration::from_millis(1500);
    while let Ok(message) = tokio::time::timeout_at(quiet, next_json(&mut alice)).await {
        assert_ne!(message["type"], "viewers", "after {counts:?}: {message}");
    }
    drop(viewers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_need_the_pin_of_a_pin_room() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let host = room(&app).await;
    let conference = app
        .pin_conference("joe@joe.tld", json!({"subject": "Town hall"}))
        .await;
    let code = conference["one_time_access_code"]
        .as_u64()
        .expect("code")
        .to_string();
    // A conference's pages carry its subject as their title.
    for page in ["livestream", "conf/call"] {
        let html = app
            .page(&host, &format!("/{page}/{code}"))
            .await
            .text()
            .await
            .expect("page");
        assert!(
            html.contains("<h1>Town hall</h1>") || html.contains(">Town hall</h1>"),
            "{page}: {html}"
        );
        assert!(html.contains("<title>Town hall ·"), "{page}: {html}");
    }
    let (_, refused) = raw_join(
        &app,
        &host,
        &code,
        json!({"type": "join", "role": "viewer"}),
    )
    .await;
    assert_eq!(refused["code"], "invalid_pin", "{refused}");
    let wrong = json!({"type": "join", "role": "viewer", "pin": "1111"});
    let (_, refused) = raw_join(&app, &host, &code, wrong).await;
    assert_eq!(refused["code"], "invalid_pin", "{refused}");
    let right = json!({"type": "join", "role": "viewer", "pin": "432198"});
    let (_, joined) = raw_join(&app, &host, &code, right).await;
    assert_eq!(joined["role"], "viewer", "{joined}");
    // A participant still needs its name.
    let (_, nameless) = raw_join(&app, &host, ROOM, json!({"type": "join"})).await;
    assert_eq!(nameless["code"], "bad_message", "{nameless}");

    // The page asks for the PIN; an unknown code is the themed 404.
    let page = app.page(&host, &format!("/livestream/{code}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("data-needs-pin=\"1\"") && html.contains("id=\"pin-form\""),
        "{html}"
    );
    let missing = app.page(&host, "/livestream/9999999").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let html = missing.text().await.expect("html");
    assert!(html.contains("Meeting room not found"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_player_waits_then_plays_the_speaker_and_shows_the_end() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let host = room(&app).await;
    let origin = format!("http://{host}:{}", app.addr.port());
    let page = app
        .page(&host, &format!("/livestream/{ROOM}?hideLogo=1"))
        .await;
    let policy = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(policy.contains("frame-ancestors 'self'"), "{policy}");
    let html = page.text().await.expect("html");
    assert!(
        !html.contains("id=\"brand-logo\""),
        "hideLogo keeps the logo out: {html}"
    );

    let viewer = browser(&driver, "viewer", &origin).await;
    viewer
        .goto(&format!("{origin}/livestream/{ROOM}"))
        .await
        .expect("viewer opens");
    let waiting = wait_for(
        &viewer,
        "document.getElementById('livestream').dataset.state === 'waiting' \
         ? document.getElementById('notice-title').textContent : null",
        20,
    )
    .await;
    assert_eq!(waiting, "Waiting for the meeting to start");

    let mut alice = Bot::join(app.addr, &host, ROOM, "Alice", Some(MODERATOR_PIN), true).await;
    assert_eq!(alice.joined["viewers"], 1, "{}", alice.joined);
    let width = wait_for(
        &viewer,
        "{ const v = document.getElementById('stage'); return v.videoWidth > 0 ? v.videoWidth : null; }",
        25,
    )
    .await;
    assert!(width.as_u64().is_some_and(|w| w > 0), "video width {width}");
    let times = eval(
        &viewer,
        "const v = document.getElementById('stage');
         const first = v.currentTime;
         await new Promise((r) => setTimeout(r, 1500));
         done([first, v.currentTime, v.muted, v.paused]);",
    )
    .await;
    assert!(
        times[1].as_f64().unwrap_or(0.0) > times[0].as_f64().unwrap_or(0.0),
        "the video plays: {times}"
    );
    let shown = eval(
        &viewer,
        "done({ state: document.getElementById('livestream').dataset.state,
                badge: !document.getElementById('live-badge').hidden,
                caption: document.getElementById('caption').textContent,
                unmute: document.getElementById('unmute').textContent,
                audio: [...document.querySelectorAll('#sound audio')].map((a) => /^t[0-9]+$/.test(a.dataset.track)) });",
    )
    .await;
    assert_eq!(
        shown,
        json!({"state": "live", "badge": true, "caption": "Alice", "unmute": "Click to unmute", "audio": [true]})
    );
    artifact(
        "livestream.png",
        &viewer.screenshot().await.expect("screenshot"),
    );
    let unmuted = eval(
        &viewer,
        "document.getElementById('unmute').click();
         done([...document.querySelectorAll('#sound audio')].every((a) => !a.muted));",
    )
    .await;
    assert_eq!(unmuted, true);

    // A screen share takes the stage, and gives it back to the camera when it stops.
    let screen = alice.share_screen().await;
    let caption = "{ const v = document.getElementById('stage');
                     const c = document.getElementById('caption').textContent;
                     return c === WANT && v.videoWidth > 0 ? c : null; }";
    let sharing = wait_for(&viewer, &caption.replace("WANT", "'Alice — screen'"), 20).await;
    assert_eq!(sharing, "Alice — screen");
    alice.stop_screen(screen).await;
    let back = wait_for(&viewer, &caption.replace("WANT", "'Alice'"), 20).await;
    assert_eq!(back, "Alice");

    alice.send(json!({"type": "end_meeting"}));
    let ended = wait_for(
        &viewer,
        "document.getElementById('livestream').dataset.state === 'ended' \
         ? document.getElementById('notice-title').textContent : null",
        15,
    )
    .await;
    assert_eq!(ended, "The meeting has ended");
    let _ = viewer.close().await;
}
