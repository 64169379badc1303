//! The SFU with real WebRTC peers: media flows both ways through one UDP port, sessions and
//! occupants are recorded, signalling is robust and moderation works.

use std::time::Duration;

use futures_util::SinkExt;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    bot::{Bot, connect_ws, next_json},
    helpers::TestApp,
    on_each_backend,
};

const ROOM: &str = "1234567";
const MODERATOR_PIN: &str = "9876543";

/// A company `joe` with a host whose personal room is [`ROOM`].
async fn room(app: &TestApp) -> String {
    app.joe_room(ROOM, Some(MODERATOR_PIN)).await;
    "joe.alpha.test".to_string()
}

on_each_backend!(two_peers_exchange_audio_and_video);

async fn two_peers_exchange_audio_and_video(app: TestApp) {
    let host = room(&app).await;
    let mut alice = Bot::join(app.addr, &host, ROOM, "Alice", Some(MODERATOR_PIN), true).await;
    assert_eq!(alice.role, "moderator");
    let mut bob = Bot::join(app.addr, &host, ROOM, "Bob", None, true).await;
    assert_eq!(bob.role, "guest");
    assert_eq!(
        bob.joined["participants"][0]["name"], "Alice",
        "{}",
        bob.joined
    );
    let joined = alice
        .wait_event("participant_joined", Duration::from_secs(5))
        .await
        .expect("alice hears bob");
    assert_eq!(joined["participant"]["name"], "Bob");

    // Each receives the other's audio and video, and the video starts with a decodable keyframe.
    for (who, bot) in [("alice", &alice), ("bob", &bob)] {
        let ok = bot
            .wait_until(Duration::from_secs(15), |tracks| {
                tracks.len() == 2
                    && tracks.values().all(|t| t.packets >= 20)
                    && tracks
                        .values()
                        .any(|t| t.kind == "video" && t.vp8_keyframes >= 1)
            })
            .await;
        assert!(ok, "{who} received {:?}", bot.received());
    }
    // Tracks are announced with their publisher and source.
    let announced = bob
        .wait_event("track", Duration::from_secs(1))
        .await
        .expect("track announcement");
    assert_eq!(announced["participant_id"], alice.participant_id.as_str());
    assert!(
        ["camera", "microphone"].contains(&announced["source"].as_str().unwrap_or_default()),
        "{announced}"
    );
    let alice_stream = alice.participant_id.to_string();
    assert!(
        bob.received().values().all(|t| t.stream_id == alice_stream),
        "{:?}",
        bob.received()
    );

    let stats = app
        .state
        .media
        .as_ref()
        .expect("media")
        .sfu
        .stats()
        .await
        .expect("stats");
    assert!(stats.forwarded_packets > 100, "{stats:?}");
    assert_eq!(stats.rooms, 1);

    // Bob leaves; Alice is told; the room empties when Alice leaves too.
    bob.send(json!({"type": "leave"}));
    let left = alice
        .wait_event("participant_left", Duration::from_secs(5))
        .await
        .expect("alice hears bob leave");
    assert_eq!(left["participant_id"], bob.participant_id.as_str());
    alice.send(json!({"type": "leave"}));
    let media = app.state.media.as_ref().expect("media");
    for _ in 0..50 {
        if media.sfu.stats().await.expect("stats").rooms == 0
            && media.hub.occupancy(&format!("{}:{ROOM}", 1)).await == 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        media.sfu.stats().await.expect("stats").peers,
        0,
        "the room's memory is freed"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    let session = sqlx::query("SELECT id, ended_at, access_code FROM meeting_sessions")
        .fetch_all(&app.state.db.pool)
        .await
        .expect("sessions");
    assert_eq!(session.len(), 1);
    assert!(
        session[0]
            .try_get::<Option<i64>, _>("ended_at")
            .expect("ended")
            .is_some()
    );
    assert_eq!(
        session[0]
            .try_get::<String, _>("access_code")
            .expect("code"),
        ROOM
    );
    let occupants =
        sqlx::query("SELECT name, role, joined_at, left_at FROM meeting_participants ORDER BY id")
            .fetch_all(&app.state.db.pool)
            .await
            .expect("occupants");
    let rows: Vec<(String, String, bool)> = occupants
        .iter()
        .map(|r| {
            (
                r.try_get("name").expect("name"),
                r.try_get("role").expect("role"),
                r.try_get::<Option<i64>, _>("left_at")
                    .expect("left")
                    .is_some(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("Alice".into(), "moderator".into(), true),
            ("Bob".into(), "guest".into(), true)
        ]
    );
}

on_each_backend!(signalling_refuses_bad_input_and_enforces_moderation);

async fn signalling_refuses_bad_input_and_enforces_moderation(app: TestApp) {
    let host = room(&app).await;
    // Unknown rooms and foreign domains are not upgraded.
    let response = app.page(&host, "/conf/call/7654321/ws").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .page("reseller-admin.beta.test", &format!("/conf/call/{ROOM}/ws"))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Malformed messages get an error and the socket stays usable.
    let mut ws = connect_ws(app.addr, &host, ROOM).await;
    for bad in [
        "not json",
        r#"{"type":"explode"}"#,
        r#"{"type":"chat","text":"before join"}"#,
        r#"{"type":"join","name":""}"#,
    ] {
        ws.send(Message::Text(bad.into())).await.expect("send");
        let answer = next_json(&mut ws).await;
        assert_eq!(answer["type"], "error", "{bad}: {answer}");
    }
    ws.send(Message::Text(
        json!({"type": "join", "name": "Mallory", "moderator_pin": "0000"})
            .to_string()
            .into(),
    ))
    .await
    .expect("send");
    let answer = next_json(&mut ws).await;
    assert_eq!(answer["code"], "invalid_moderator_pin");

    let mut moderator = Bot::join(app.addr, &host, ROOM, "Mo", Some(MODERATOR_PIN), false).await;
    let mut guest = Bot::join(app.addr, &host, ROOM, "Gus", None, true).await;
    let mut other = Bot::join(app.addr, &host, ROOM, "Olga", None, false).await;

    // Chat reaches everyone with the sender's name.
    guest.send(json!({"type": "chat", "text": "hello all"}));
    let chat = moderator
        .wait_event("chat", Duration::from_secs(5))
        .await
        .expect("chat");
    assert_eq!(
        (chat["name"].as_str(), chat["text"].as_str()),
        (Some("Gus"), Some("hello all"))
    );
    guest.send(json!({"type": "chat", "text": "x".repeat(2001)}));
    let error = guest
        .wait_event("error", Duration::from_secs(5))
        .await
        .expect("too long");
    assert_eq!(error["code"], "invalid_chat");

    // Guests may not moderate.
    guest.send(json!({"type": "remove_participant", "participant_id": other.participant_id}));
    let refused = guest
        .wait_event("error", Duration::from_secs(5))
        .await
        .expect("refused");
    assert_eq!(refused["code"], "forbidden");
    guest.send(json!({"type": "end_meeting"}));
    assert_eq!(
        guest
            .wait_event("error", Duration::from_secs(5))
            .await
            .expect("refused")["code"],
        "forbidden"
    );

    // The moderator mutes the guest, then removes Olga, then ends the meeting.
    moderator.send(json!({"type": "mute_participant", "participant_id": guest.participant_id}));
    guest
        .wait_event("muted_by_moderator", Duration::from_secs(5))
        .await
        .expect("muted");
    moderator.send(json!({"type": "remove_participant", "participant_id": other.participant_id}));
    let removed = other
        .wait_event("removed", Duration::from_secs(5))
        .await
        .expect("removed");
    assert_eq!(removed["reason"], "removed_by_moderator");
    let left = moderator
        .wait_event("participant_left", Duration::from_secs(5))
        .await
        .expect("left");
    assert_eq!(left["participant_id"], other.participant_id.as_str());
    moderator.send(json!({"type": "remove_participant", "participant_id": "p999999"}));
    assert_eq!(
        moderator
            .wait_event("error", Duration::from_secs(5))
            .await
            .expect("unknown")["code"],
        "unknown_participant"
    );
    moderator.send(json!({"type": "end_meeting"}));
    guest
        .wait_event("ended", Duration::from_secs(5))
        .await
        .expect("guest sees the end");
    moderator
        .wait_event("ended", Duration::from_secs(5))
        .await
        .expect("moderator sees the end");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let open: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM meeting_sessions WHERE ended_at IS NULL")
            .fetch_one(&app.state.db.pool)
            .await
            .expect("count")
            .try_get("n")
            .expect("n");
    assert_eq!(open, 0, "ending the meeting closes the session");
}

on_each_backend!(a_peer_that_vanishes_is_removed);

async fn a_peer_that_vanishes_is_removed(app: TestApp) {
    let host = room(&app).await;
    let mut stays = Bot::join(app.addr, &host, ROOM, "Stays", None, true).await;
    let mut goes = Bot::join_vanishable(app.addr, &host, ROOM, "Goes").await;
    assert!(
        stays
            .wait_until(Duration::from_secs(15), |t| t
                .values()
                .any(|t| t.packets > 10))
            .await,
        "media flows before the network drops"
    );
    let started = std::time::Instant::now();
    goes.vanish_media();
    // Its signalling socket is still open: only the media path tells the server it is gone.
    let left = stays
        .wait_event("participant_left", Duration::from_secs(30))
        .await
        .expect("the vanished peer is removed");
    assert_eq!(left["participant_id"], goes.participant_id.as_str());
    assert_eq!(left["reason"], "connection_lost");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let error = goes
        .wait_event("error", Duration::from_secs(5))
        .await
        .expect("told why");
    assert_eq!(error["code"], "media_lost");
    stays.close().await;
}

on_each_backend!(screen_sharing_comes_and_goes);

async fn screen_sharing_comes_and_goes(app: TestApp) {
    let host = room(&app).await;
    let mut presenter = Bot::join(app.addr, &host, ROOM, "Presenter", None, true).await;
    let mut viewer = Bot::join(app.addr, &host, ROOM, "Viewer", None, false).await;
    let first = viewer
        .wait_event("track", Duration::from_secs(10))
        .await
        .expect("camera or microphone");
    assert_ne!(first["source"], "screen");
    let sender = presenter.share_screen().await;
    let screen = loop {
        let track = viewer
            .wait_event("track", Duration::from_secs(10))
            .await
            .expect("screen track announced");
        if track["source"] == "screen" {
            break track;
        }
    };
    assert_eq!(screen["participant_id"], presenter.participant_id.as_str());
    let screen_id = screen["track_id"].as_str().expect("id").to_string();
    let id = screen_id.clone();
    assert!(
        viewer
            .wait_until(Duration::from_secs(10), move |t| t
                .get(&id)
                .is_some_and(|r| r.packets > 10 && r.vp8_keyframes > 0))
            .await,
        "viewer decodes the screen: {:?}",
        viewer.received()
    );
    presenter.stop_screen(sender).await;
    let removed = viewer
        .wait_event("track_removed", Duration::from_secs(10))
        .await
        .expect("screen track removed");
    assert_eq!(removed["track_id"], screen_id.as_str());
}

on_each_backend!(the_loudest_participant_is_the_dominant_speaker);

async fn the_loudest_participant_is_the_dominant_speaker(app: TestApp) {
    let host = room(&app).await;
    let mut alice = Bot::join(app.addr, &host, ROOM, "Alice", None, true).await;
    let mut bob = Bot::join(app.addr, &host, ROOM, "Bob", None, true).await;
    alice.set_audio_level(20);
    let speaker = bob
        .wait_event("dominant_speaker", Duration::from_secs(10))
        .await
        .expect("a speaker");
    assert_eq!(speaker["participant_id"], alice.participant_id.as_str());
    alice.set_audio_level(127);
    bob.set_audio_level(15);
    let speaker = loop {
        let event = alice
            .wait_event("dominant_speaker", Duration::from_secs(10))
            .await
            .expect("speaker changes");
        if event["participant_id"] != alice.participant_id.as_str() {
            break event;
        }
    };
    assert_eq!(speaker["participant_id"], bob.participant_id.as_str());
}

async fn join_floods_are_limited_and_turn_is_handed_out(backend: crate::helpers::Backend) {
    let app = TestApp::spawn_with(backend, |c| {
        c.joins_per_address_per_minute = 3;
        c.turn_urls = vec!["turn:turn.alpha.test:3478".into()];
        c.turn_username = Some("confab".into());
        c.turn_credential = Some("s3cret".into());
    })
    .await;
    let host = room(&app).await;
    let mut ws = connect_ws(app.addr, &host, ROOM).await;
    ws.send(Message::Text(
        json!({"type": "join", "name": "Tess"}).to_string().into(),
    ))
    .await
    .expect("send");
    let joined = next_json(&mut ws).await;
    assert_eq!(
        joined["ice_servers"],
        json!([{"urls": ["turn:turn.alpha.test:3478"], "username": "confab", "credential": "s3cret"}])
    );
    let _second = connect_ws(app.addr, &host, ROOM).await;
    let _third = connect_ws(app.addr, &host, ROOM).await;
    let refused = app.page(&host, &format!("/conf/call/{ROOM}/ws")).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_floods_are_limited_sqlite() {
    join_floods_are_limited_and_turn_is_handed_out(crate::helpers::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_floods_are_limited_postgres() {
    if crate::helpers::postgres_enabled() {
        join_floods_are_limited_and_turn_is_handed_out(crate::helpers::Backend::Postgres).await;
    }
}

on_each_backend!(conference_rooms_need_their_pin_and_honour_moderator_links);

async fn conference_rooms_need_their_pin_and_honour_moderator_links(app: TestApp) {
    let host = room(&app).await;
    let r = app.alpha.clone();
    let conference = app
        .pin_conference(
            "joe@joe.tld",
            json!({"subject": "Lecture", "agenda": "", "auto_record": "none", "auto_transcribe": false,
                   "mute_mode": "lecture",
                   "participant_emails": [{"email": "prof@joe.tld", "moderator": true}]}),
        )
        .await;
    let code = conference["one_time_access_code"]
        .as_u64()
        .expect("one-time code")
        .to_string();
    let link = conference["moderator_join_urls"][0]["join_url"].as_str();
    let token = link
        .and_then(|l| l.split("mod=").nth(1))
        .expect("moderator link")
        .to_string();

    // A guest without the PIN is refused; with it, joins muted as the lecture says.
    let mut ws = connect_ws(app.addr, &host, &code).await;
    ws.send(Message::Text(
        json!({"type": "join", "name": "Guest"}).to_string().into(),
    ))
    .await
    .expect("send");
    assert_eq!(next_json(&mut ws).await["code"], "invalid_pin");
    let mut ws = connect_ws(app.addr, &host, &code).await;
    ws.send(Message::Text(
        json!({"type": "join", "name": "Guest", "pin": "432198"})
            .to_string()
            .into(),
    ))
    .await
    .expect("send");
    let joined = next_json(&mut ws).await;
    assert_eq!(
        (
            joined["role"].as_str(),
            joined["room"]["mute_mode"].as_str()
        ),
        (Some("guest"), Some("lecture")),
        "{joined}"
    );
    // The moderator link works without the PIN; a forged one is refused.
    let mut ws = connect_ws(app.addr, &host, &code).await;
    ws.send(Message::Text(
        json!({"type": "join", "name": "Prof", "moderator_token": token})
            .to_string()
            .into(),
    ))
    .await
    .expect("send");
    assert_eq!(next_json(&mut ws).await["role"], "moderator");
    let mut ws = connect_ws(app.addr, &host, &code).await;
    ws.send(Message::Text(
        json!({"type": "join", "name": "Eve", "moderator_token": "forged"})
            .to_string()
            .into(),
    ))
    .await
    .expect("send");
    assert_eq!(next_json(&mut ws).await["code"], "invalid_moderator_link");
    // The conference counts as active while its meeting runs.
    let id = conference["conference_id"].clone();
    let got = app
        .ok(
            &r.api_host,
            &r.admin_token,
            "conference/get",
            json!({"conference_id": id}),
        )
        .await;
    assert_eq!(got["active"], true, "{got}");
}
