//! The embedding SDK in real headless Chromium: a partner's page on another origin (allowed in the
//! company's `embed_origins`) puts the meeting in an iframe with `/static/external_api.js`, drives
//! it with commands and hears its events; pages on other origins can neither drive it nor listen.

use std::{net::SocketAddr, time::Duration};

use axum::{
    Router,
    extract::Query,
    http::HeaderMap,
    response::{Html, IntoResponse},
    routing::get,
};
use fantoccini::{Client, wd::TimeoutConfiguration};
use serde_json::{Value, json};

use crate::{
    browser::{Driver, browser, start_driver},
    helpers::{Backend, TestApp},
    meeting_page::{eval, wait_for},
};

const ROOM: &str = "2345678";
const MODERATOR_PIN: &str = "8765432";

#[derive(serde::Deserialize)]
struct PartnerQuery {
    sdk: String,
    url: String,
}

/// JSON that is safe inside an inline `<script>`.
fn script_json(value: &str) -> String {
    serde_json::to_string(value)
        .unwrap_or_default()
        .replace("</", "<\\/")
}

/// The partner's page: loads the SDK from the meeting's domain, embeds the meeting as "Ann", and
/// keeps every SDK event in `window.events` and every plain message in `window.plain`.
fn partner_page(q: &PartnerQuery) -> String {
    format!(
        r#"<!doctype html><title>Partner app</title><h1>Partner app</h1><div id="here"></div>
<script src="{sdk}"></script>
<script>
  window.events = [];
  window.plain = [];
  window.addEventListener("message", (e) => {{ if (e.data && e.data.type) window.plain.push(e.data); }});
  window.api = new MeetingsExternalAPI({{ url: {url}, name: "Ann", parentNode: document.getElementById("here"), width: 900, height: 600 }});
  window.api.on("*", (data, name) => window.events.push({{ name, data }}));
  window.addSibling = (src) => {{
    const frame = document.createElement("iframe");
    frame.src = src;
    document.body.appendChild(frame);
  }};
</script>"#,
        sdk = q.sdk.replace('"', "%22"),
        url = script_json(&q.url),
    )
}

/// A frame on another origin beside the meeting: it tries to drive every window in its parent
/// and records whatever reaches it.
const SIBLING: &str = r#"<!doctype html><title>Other site</title><script>
  window.got = [];
  window.addEventListener("message", (e) => window.got.push(e.data));
  const tries = [
    { protocol: "meeting-embed", version: 1, kind: "hello" },
    { protocol: "meeting-embed", version: 1, kind: "command", id: 1, name: "sendChatMessage", args: ["from elsewhere"] },
    { protocol: "meeting-embed", version: 1, kind: "command", id: 2, name: "hangup", args: [] },
    { type: "hangup" },
  ];
  let rounds = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < parent.frames.length; i++) {
      if (parent.frames[i] !== window) for (const m of tries) parent.frames[i].postMessage(m, "*");
    }
    if (++rounds >= 5) { clearInterval(timer); window.done = true; }
  }, 200);
</script>"#;

/// Serves the partner page at `/` and the sibling at `/sibling`, on whatever hostname is asked
/// (the browser maps every name here, so `partner.test` and `other.test` are two origins).
async fn start_partner_site() -> SocketAddr {
    let app = Router::new()
        .route(
            "/",
            get(|Query(q): Query<PartnerQuery>, _: HeaderMap| async move {
                Html(partner_page(&q)).into_response()
            }),
        )
        .route("/sibling", get(|| async { Html(SIBLING) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind partner");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// The browsers a test opened, so that every one is closed even when opening the next one or
/// the story fails (killing chromedriver alone leaves Chromium running).
#[derive(Clone, Default)]
struct Opened(std::sync::Arc<std::sync::Mutex<Vec<Client>>>);

impl Opened {
    async fn open(&self, driver: &Driver, profile: &str, secure: &str) -> Client {
        let client = patient(browser(driver, profile, secure).await).await;
        if let Ok(mut list) = self.0.lock() {
            list.push(client.clone());
        }
        client
    }

    async fn close_all(&self) {
        let clients: Vec<Client> = self
            .0
            .lock()
            .map(|mut list| list.drain(..).collect())
            .unwrap_or_default();
        for client in clients {
            let _ = client.close().await;
        }
    }
}

/// A browser that waits long enough for a loaded machine: scripts may poll for a minute.
async fn patient(client: Client) -> Client {
    let timeouts = TimeoutConfiguration::new(
        Some(Duration::from_secs(120)),
        Some(Duration::from_secs(120)),
        Some(Duration::ZERO),
    );
    client
        .update_timeouts(timeouts)
        .await
        .expect("set timeouts");
    client
}

/// Waits until the partner page has an event `name` matching the JS condition on `e` (after
/// `skip` earlier events); returns it or null.
async fn event(client: &Client, name: &str, condition: &str, skip: usize) -> Value {
    wait_for(
        client,
        &format!(
            "window.events.slice({skip}).find((e) => e.name === {name:?} && ({condition})) || null"
        ),
        60,
    )
    .await
}

async fn event_count(client: &Client) -> usize {
    eval(client, "done(window.events.length);")
        .await
        .as_u64()
        .unwrap_or_default() as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_page_drives_the_meeting_with_the_sdk() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    let r = app.alpha.clone();
    let company = app.joe_room(ROOM, Some(MODERATOR_PIN)).await;
    let partner = start_partner_site().await;
    let partner_origin = format!("http://partner.test:{}", partner.port());
    let other_origin = format!("http://other.test:{}", partner.port());
    app.ok(
        &r.api_host,
        &r.admin_token,
        "company/update",
        json!({"company_id": company, "embed_origins": [partner_origin]}),
    )
    .await;
    let meeting_origin = format!("http://joe.alpha.test:{}", app.addr.port());
    // Camera and microphone need a secure context, for the frame and every page above it.
    let secure = format!("{meeting_origin},{partner_origin},{other_origin}");
    // The driver outlives the task: the browsers are closed through it afterwards.
    let driver = std::sync::Arc::new(driver);
    let opened = Opened::default();
    let outcome = tokio::spawn({
        let opened = opened.clone();
        let driver = driver.clone();
        async move {
            let ann = opened.open(&driver, "ann", &secure).await;
            let bob = opened.open(&driver, "bob", &secure).await;
            story(ann, bob, meeting_origin, partner_origin, other_origin).await;
        }
    })
    .await;
    opened.close_all().await;
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

async fn story(
    ann: Client,
    bob: Client,
    meeting_origin: String,
    partner_origin: String,
    other_origin: String,
) {
    let enc = |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    let page = |origin: &str| {
        format!(
            "{origin}/?sdk={}&url={}",
            enc(&format!("{meeting_origin}/static/external_api.js")),
            enc(&format!("{meeting_origin}/conf/call/{ROOM}"))
        )
    };
    let partner_page = page(&partner_origin);

    // Joined, as a guest, with the room's name.
    ann.goto(&partner_page).await.expect("open partner page");
    let joined = event(&ann, "videoConferenceJoined", "true", 0).await;
    if joined.is_null() {
        let _ = ann.enter_frame(0).await;
        let inside = eval(&ann, "done({ href: location.href, text: document.body.innerText.slice(0, 400), me: window.meeting && window.meeting.me });").await;
        let _ = ann.enter_parent_frame().await;
        let events = eval(&ann, "done(window.events);").await;
        panic!("not joined: frame {inside}; events {events}");
    }
    assert_eq!(joined["data"]["roomName"], ROOM, "{joined}");
    assert_eq!(joined["data"]["displayName"], "Ann", "{joined}");
    assert!(
        event(&ann, "ready", "true", 0).await.is_object(),
        "no ready event"
    );

    // Mute and unmute from the partner page.
    let seen = event_count(&ann).await;
    eval(
        &ann,
        "await window.api.executeCommand('toggleAudio'); done(true);",
    )
    .await;
    let muted = event(
        &ann,
        "audioMuteStatusChanged",
        "e.data.muted === true",
        seen,
    )
    .await;
    assert!(muted.is_object(), "no mute event");
    let seen = event_count(&ann).await;
    eval(
        &ann,
        "await window.api.executeCommand('toggleAudio'); done(true);",
    )
    .await;
    let unmuted = event(
        &ann,
        "audioMuteStatusChanged",
        "e.data.muted === false",
        seen,
    )
    .await;
    assert!(unmuted.is_object(), "no unmute event");
    // A moderator command from a guest is refused with a reason.
    let refused = eval(
        &ann,
        "window.api.executeCommand('muteAll').then(() => done('ran'), (err) => done(err.message));",
    )
    .await;
    assert_eq!(refused, "only a moderator may do that");

    // A second participant (the moderator, in a plain page) joins: the partner hears of it.
    bob.goto(&format!(
        "{meeting_origin}/conf/call/{ROOM}?name=Bob&skip_join=1&moderator_pin={MODERATOR_PIN}"
    ))
    .await
    .expect("bob opens");
    let bob_joined = event(&ann, "participantJoined", "e.data.displayName === 'Bob'", 0).await;
    assert!(bob_joined.is_object(), "no participantJoined for Bob");
    let names = eval(
        &ann,
        "done(window.api.getParticipants().map((p) => p.displayName));",
    )
    .await;
    assert_eq!(names, json!(["Ann", "Bob"]));

    // Chat sent by the partner page arrives in Bob's page.
    assert_eq!(
        wait_for(
            &bob,
            "window.meeting && window.meeting.participants.size === 1",
            15
        )
        .await,
        true
    );
    eval(
        &ann,
        "await window.api.executeCommand('sendChatMessage', 'hello from the app'); done(true);",
    )
    .await;
    let chat = wait_for(
        &bob,
        "document.getElementById('chat-log').textContent.includes('hello from the app')",
        10,
    )
    .await;
    assert_eq!(chat, true, "Bob did not get the partner's chat");

    // A frame from a site that is not allowed, beside the meeting, cannot drive it or listen.
    let seen = event_count(&ann).await;
    eval(
        &ann,
        &format!(
            "window.addSibling({:?}); done(true);",
            format!("{other_origin}/sibling")
        ),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    ann.enter_frame(1).await.expect("sibling frame");
    let sibling = eval(&ann, "done({ done: !!window.done, got: window.got });").await;
    ann.enter_parent_frame().await.expect("back");
    assert_eq!(sibling, json!({"done": true, "got": []}), "{sibling}");
    ann.enter_frame(0).await.expect("meeting frame");
    let still_in = eval(&ann, "done(!!window.meeting.me);").await;
    ann.enter_parent_frame().await.expect("back");
    assert_eq!(still_in, true, "the other site hung the meeting up");
    let chat = eval(
        &bob,
        "done(document.getElementById('chat-log').textContent.includes('from elsewhere'));",
    )
    .await;
    assert_eq!(chat, false, "the other site sent a chat message");
    let late = eval(
        &ann,
        &format!(
            "done(window.events.slice({seen}).filter((e) => \
             ['videoConferenceLeft', 'readyToClose', 'outgoingMessage'].includes(e.name)));"
        ),
    )
    .await;
    assert_eq!(
        late,
        json!([]),
        "events after the other site's attempts: {late}"
    );

    // Hang up from the partner page: left, with the plain leave message as well.
    eval(
        &ann,
        "await window.api.executeCommand('hangup'); done(true);",
    )
    .await;
    let left = event(&ann, "videoConferenceLeft", "e.data.reason === 'left'", 0).await;
    assert!(left.is_object(), "no videoConferenceLeft after hangup");
    let plain = wait_for(
        &ann,
        "window.plain.find((m) => m.type === 'meetingLeaveCallEvent' && m.reason === 'left') || null",
        5,
    )
    .await;
    assert!(plain.is_object(), "no plain leave message");
    assert!(
        event(&ann, "readyToClose", "true", 0).await.is_object(),
        "no readyToClose"
    );

    // The imMail-style plain hangup message works too.
    ann.goto(&partner_page).await.expect("reopen");
    assert!(
        event(&ann, "videoConferenceJoined", "true", 0)
            .await
            .is_object(),
        "did not rejoin"
    );
    eval(
        &ann,
        &format!(
            "window.api.getIFrame().contentWindow.postMessage({{ type: 'hangup' }}, {:?}); done(true);",
            meeting_origin
        ),
    )
    .await;
    let left = event(&ann, "videoConferenceLeft", "e.data.reason === 'left'", 0).await;
    assert!(left.is_object(), "plain hangup did not leave");

    // Back in; the host ends the meeting: the partner hears `ended_by_host`.
    ann.goto(&partner_page).await.expect("reopen");
    assert!(
        event(&ann, "videoConferenceJoined", "true", 0)
            .await
            .is_object(),
        "did not rejoin"
    );
    bob.find(fantoccini::Locator::Id("ctl-end"))
        .await
        .expect("end button")
        .click()
        .await
        .expect("end");
    let ended = event(
        &ann,
        "videoConferenceLeft",
        "e.data.reason === 'ended_by_host'",
        0,
    )
    .await;
    assert!(ended.is_object(), "no ended_by_host");
    let plain = wait_for(
        &ann,
        "window.plain.find((m) => m.type === 'meetingLeaveCallEvent' && m.reason === 'ended_by_host') || null",
        5,
    )
    .await;
    assert!(plain.is_object(), "no plain ended_by_host message");

    // The same page on a site that is not allowed: the frame is refused, no event, no effect.
    bob.goto(&format!(
        "{meeting_origin}/conf/call/{ROOM}?name=Bob&skip_join=1&moderator_pin={MODERATOR_PIN}"
    ))
    .await
    .expect("bob reopens");
    assert_eq!(
        wait_for(&bob, "!!(window.meeting && window.meeting.me)", 60).await,
        true
    );
    ann.goto(&page(&other_origin)).await.expect("other site");
    eval(
        &ann,
        "window.api.executeCommand('sendChatMessage', 'from the other site'); done(true);",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let events = eval(&ann, "done(window.events);").await;
    assert_eq!(events, json!([]), "{events}");
    let bob_view = eval(
        &bob,
        "done({ others: window.meeting.participants.size, chat: document.getElementById('chat-log').textContent });",
    )
    .await;
    assert_eq!(bob_view["others"], 0, "{bob_view}");
    assert!(
        !bob_view["chat"]
            .as_str()
            .unwrap_or_default()
            .contains("from the other site"),
        "{bob_view}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_options_shape_the_page() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.joe_room(ROOM, None).await;
    let origin = format!("http://joe.alpha.test:{}", app.addr.port());
    // The driver outlives the task: the browsers are closed through it afterwards.
    let driver = std::sync::Arc::new(driver);
    let opened = Opened::default();
    let outcome = tokio::spawn({
        let opened = opened.clone();
        let driver = driver.clone();
        async move {
            let ann = opened.open(&driver, "ann", &origin).await;
            let olga = opened.open(&driver, "olga", &origin).await;
            options_story(ann, olga, origin).await;
        }
    })
    .await;
    opened.close_all().await;
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

async fn options_story(ann: Client, olga: Client, origin: String) {
    ann.goto(&format!(
        "{origin}/conf/call/{ROOM}?name=Ann&skip_join=1&hideButtons=chat,participants-pane,invite\
         &startWithAudioMuted=true&res=240&hideLogo=1&tiles=1"
    ))
    .await
    .expect("ann opens");
    assert_eq!(
        wait_for(&ann, "!!(window.meeting && window.meeting.me)", 60).await,
        true
    );
    let shown =
        |id: &str| format!("getComputedStyle(document.querySelector({id:?})).display !== 'none'");
    let page = eval(
        &ann,
        &format!(
            "const video = window.meeting.local.getVideoTracks()[0];
             done({{ chat: {chat}, people: {people}, mic: {mic}, logo: {logo},
                    audioOn: window.meeting.audioOn, height: video.getSettings().height }});",
            chat = shown("#ctl-chat"),
            people = shown("#ctl-people"),
            mic = shown("#ctl-mic"),
            logo = shown(".topbar"),
        ),
    )
    .await;
    assert_eq!(page["chat"], false, "{page}");
    assert_eq!(page["people"], false, "{page}");
    assert_eq!(page["mic"], true, "{page}");
    assert_eq!(page["logo"], false, "{page}");
    assert_eq!(page["audioOn"], false, "{page}");
    assert!(
        page["height"].as_u64().is_some_and(|h| h > 0 && h <= 240),
        "{page}"
    );

    // An observer: no camera or microphone asked for, nothing published, no own tile.
    olga.goto(&format!("{origin}/conf/call/{ROOM}?skip_join=1&observer=1"))
        .await
        .expect("olga opens");
    assert_eq!(
        wait_for(&olga, "!!(window.meeting && window.meeting.me)", 60).await,
        true
    );
    let observer = eval(
        &olga,
        "done({ local: window.meeting.local, sending: window.meeting.pc.getSenders().filter((s) => s.track).length,
                own: !!document.querySelector('.tile.local'), name: window.meeting.name,
                mic: getComputedStyle(document.getElementById('ctl-mic')).display });",
    )
    .await;
    assert_eq!(
        observer,
        json!({"local": null, "sending": 0, "own": false, "name": "Observer", "mic": "none"})
    );
    // Observers are hidden viewers: Ann sees no tile for Olga, only that one person watches.
    let watching = wait_for(
        &ann,
        "!document.getElementById('viewers').hidden \
         ? [document.getElementById('viewers').textContent, document.querySelectorAll('.tile').length] : null",
        15,
    )
    .await;
    assert_eq!(watching, json!(["1 watching", 1]));
    // Olga takes part instead.
    olga.goto(&format!("{origin}/conf/call/{ROOM}?skip_join=1&name=Olga"))
        .await
        .expect("olga joins");
    // With `tiles=1` Ann's page shows one tile of the two.
    let tiles = wait_for(
        &ann,
        "document.querySelectorAll('.tile').length === 2 \
         ? document.querySelectorAll('.tile:not(.over-cap)').length : null",
        15,
    )
    .await;
    assert_eq!(tiles, 1);
}
