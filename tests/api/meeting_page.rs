//! The meeting page in real headless Chromium with fake camera and microphone: three people see
//! and hear each other, chat, share a screen, and see the host end the meeting; a room's PIN is
//! enforced on the page.

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::{
    browser::{browser, start_driver},
    helpers::{Backend, TestApp},
};

const ROOM: &str = "1234567";
const MODERATOR_PIN: &str = "9876543";

/// Evaluates an async expression in the page (it gets `done` as its callback).
pub(crate) async fn eval(client: &Client, body: &str) -> Value {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         (async () => {{ try {{ {body} }} catch (err) {{ done({{ error: String(err) }}); }} }})();"
    );
    client.execute_async(&script, vec![]).await.expect("script")
}

/// Polls the page until `condition` (a JS expression) is truthy; returns the last value.
pub(crate) async fn wait_for(client: &Client, condition: &str, seconds: u64) -> Value {
    let body = format!(
        "const deadline = Date.now() + {ms};
         while (true) {{
           const value = await (async () => {condition})();
           if (value || Date.now() > deadline) return done(value);
           await new Promise((r) => setTimeout(r, 200));
         }}",
        ms = seconds * 1000
    );
    eval(client, &body).await
}

/// Remote video tracks with decoded frames and remote audio packets, from the page's stats.
const MEDIA_STATS: &str = "(async () => {
    const pc = window.meeting && window.meeting.pc;
    if (!pc) return { video: 0, audio: 0, frames: 0 };
    let video = 0, audio = 0, frames = 0;
    for (const r of (await pc.getStats()).values()) {
      if (r.type !== 'inbound-rtp') continue;
      if (r.kind === 'video' && r.framesDecoded > 0) { video += 1; frames += r.framesDecoded; }
      if (r.kind === 'audio' && r.packetsReceived > 0) audio += 1;
    }
    return { video, audio, frames };
  })()";

async fn media(client: &Client) -> Value {
    eval(client, &format!("done(await {MEDIA_STATS});")).await
}

pub(crate) fn artifact(name: &str, png: &[u8]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/artifacts");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(name), png);
}

async fn setup(app: &TestApp) -> String {
    app.joe_room(ROOM, Some(MODERATOR_PIN)).await;
    format!("http://joe.alpha.test:{}", app.addr.port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_people_meet_chat_share_and_the_host_ends_it() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let origin = setup(&app).await;
    let host = browser(&driver, "host", &origin).await;
    let ann = browser(&driver, "ann", &origin).await;
    let bob = browser(&driver, "bob", &origin).await;
    let started = std::time::Instant::now();
    host.goto(&format!(
        "{origin}/conf/call/{ROOM}?name=Host&skip_join=1&moderator_pin={MODERATOR_PIN}"
    ))
    .await
    .expect("host opens");
    ann.goto(&format!("{origin}/conf/call/{ROOM}?name=Ann&skip_join=1"))
        .await
        .expect("ann opens");
    bob.goto(&format!("{origin}/conf/call/{ROOM}?name=Bob&skip_join=1"))
        .await
        .expect("bob opens");

    // (1) Everyone sees two remote videos decoding and hears two remote audio streams.
    for (who, client) in [("host", &host), ("ann", &ann), ("bob", &bob)] {
        let seen = wait_for(client, &format!("{{ const m = await {MEDIA_STATS}; return m.video >= 2 && m.audio >= 2 ? m : null; }}"), 25).await;
        assert!(seen.is_object(), "{who} sees {:?}", media(client).await);
    }
    let first_frames = started.elapsed();
    let before = media(&ann).await["frames"].as_u64().unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = media(&ann).await["frames"].as_u64().unwrap_or(0);
    assert!(after > before, "frames keep decoding: {before} → {after}");
    // The tiles are laid out and visible, with names.
    let tiles = eval(&ann, "done([...document.querySelectorAll('#grid .tile')].map(t => { const r = t.getBoundingClientRect(); return [t.querySelector('figcaption').textContent, Math.round(r.width), Math.round(r.height)]; }));").await;
    let tiles = tiles.as_array().expect("tiles");
    assert_eq!(tiles.len(), 3, "{tiles:?}");
    assert!(
        tiles
            .iter()
            .all(|t| t[1].as_u64().unwrap_or(0) > 100 && t[2].as_u64().unwrap_or(0) > 60),
        "{tiles:?}"
    );
    let names: Vec<&str> = tiles.iter().filter_map(|t| t[0].as_str()).collect();
    assert!(
        names.iter().any(|n| n.starts_with("Host")) && names.iter().any(|n| n.starts_with("Bob")),
        "{names:?}"
    );
    artifact(
        "meeting-gallery.png",
        &ann.screenshot().await.expect("screenshot"),
    );
    eprintln!("meeting page: first remote frames for three participants after {first_frames:?}");

    // (2) Chat typed by Bob appears for Ann with an unread badge.
    bob.find(Locator::Id("ctl-chat"))
        .await
        .expect("chat button")
        .click()
        .await
        .expect("open chat");
    bob.find(Locator::Id("chat-input"))
        .await
        .expect("input")
        .send_keys("hello from bob")
        .await
        .expect("type");
    bob.find(Locator::Css("#chat-form button"))
        .await
        .expect("send")
        .click()
        .await
        .expect("send");
    let chat = wait_for(&ann, "{ const log = document.getElementById('chat-log').textContent; return log.includes('hello from bob') ? [log, document.getElementById('unread').textContent] : null; }", 10).await;
    assert!(chat.is_array(), "ann's chat: {chat}");
    assert_eq!(chat[1], "1", "unread badge");
    let stored: Vec<(String, String)> = {
        use sqlx::Row;
        sqlx::query("SELECT name, text FROM chat_messages")
            .fetch_all(&app.state.db.pool)
            .await
            .expect("chat rows")
            .iter()
            .map(|r| {
                (
                    r.try_get("name").expect("name"),
                    r.try_get("text").expect("text"),
                )
            })
            .collect()
    };
    assert_eq!(
        stored,
        vec![("Bob".to_string(), "hello from bob".to_string())],
        "chat is kept with the session"
    );

    // A network drop: Bob's page rejoins by itself and sees both others again.
    let old_id = eval(&bob, "done(window.meeting.me);").await;
    eval(&bob, "window.meeting.ws.close(); done(true);").await;
    let rejoined = wait_for(&bob, &format!("{{ const m = await {MEDIA_STATS}; return window.meeting.me && window.meeting.me !== {old_id} && m.video >= 2 ? window.meeting.me : null; }}"), 25).await;
    assert!(
        rejoined.is_string(),
        "bob rejoined: {rejoined}, {:?}",
        media(&bob).await
    );

    // (3) Ann shares a screen (a canvas stands in for the picker's choice); Bob sees it large.
    eval(&ann, "const canvas = document.createElement('canvas'); canvas.width = 640; canvas.height = 360;
        const g = canvas.getContext('2d'); let n = 0;
        setInterval(() => { g.fillStyle = n++ % 2 ? '#2563eb' : '#f59e0b'; g.fillRect(0, 0, 640, 360); }, 100);
        navigator.mediaDevices.getDisplayMedia = async () => canvas.captureStream(10);
        document.getElementById('ctl-screen').click(); done(true);").await;
    let screen = wait_for(&bob, "{ const t = document.querySelector('#grid .tile.screen video'); return t && t.videoWidth > 0 ? [t.videoWidth, t.getBoundingClientRect().width] : null; }", 20).await;
    assert!(screen.is_array(), "bob sees the screen: {screen}");
    let rects = eval(&bob, "done([document.getElementById('grid').className, ...[...document.querySelectorAll('#grid .tile')].map(t => { const r = t.getBoundingClientRect(); return [t.className, Math.round(r.top), Math.round(r.height)]; })]);").await;
    eprintln!("layout with a screen share: {rects}");
    artifact(
        "meeting-screen-share.png",
        &bob.screenshot().await.expect("screenshot"),
    );

    // (4) The host ends the meeting: everyone sees the ended screen.
    host.find(Locator::Id("ctl-end"))
        .await
        .expect("end button")
        .click()
        .await
        .expect("end");
    for (who, client) in [("ann", &ann), ("bob", &bob)] {
        let ended = wait_for(client, "{ const e = document.getElementById('ended'); return !e.hidden ? document.getElementById('ended-title').textContent : null; }", 10).await;
        assert_eq!(ended, "The meeting has ended", "{who}");
    }
    artifact(
        "meeting-ended.png",
        &bob.screenshot().await.expect("screenshot"),
    );
    for client in [host, ann, bob] {
        let _ = client.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_protected_room_admits_only_with_its_pin() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let origin = setup(&app).await;
    let conference = app
        .pin_conference(
            "joe@joe.tld",
            json!({"subject": "Board", "agenda": "", "auto_record": "none", "auto_transcribe": false,
                   "mute_mode": "conversation", "participants": []}),
        )
        .await;
    let code = conference["one_time_access_code"].as_u64().expect("code");
    let guest = browser(&driver, "guest", &origin).await;
    guest
        .goto(&format!(
            "{origin}/conf/call/{code}?name=Gail&pin=0000&skip_join=1"
        ))
        .await
        .expect("open");
    let refused = wait_for(&guest, "{ const e = document.getElementById('join-error'); return !e.hidden ? e.textContent : null; }", 10).await;
    assert!(
        refused.as_str().is_some_and(|t| t.contains("PIN")),
        "{refused}"
    );
    guest
        .find(Locator::Id("pin"))
        .await
        .expect("pin field")
        .clear()
        .await
        .expect("clear");
    guest
        .find(Locator::Id("pin"))
        .await
        .expect("pin field")
        .send_keys("432198")
        .await
        .expect("type");
    guest
        .find(Locator::Id("join"))
        .await
        .expect("join")
        .click()
        .await
        .expect("join");
    let joined = wait_for(&guest, "window.meeting && window.meeting.role", 10).await;
    assert_eq!(joined, "guest");
    let _ = guest.close().await;
}
