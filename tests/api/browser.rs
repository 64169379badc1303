//! Real headless Chromium (fake camera and microphone) on the meeting page: two browsers see each
//! other's video decoded through the SFU.

use std::{process::Stdio, time::Duration};

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

use crate::helpers::{Backend, ChildGuard, TestApp, free_port, suite_unavailable};

/// chromedriver as a child process on a free port; killed on drop.
pub struct Driver {
    _child: ChildGuard,
    url: String,
    _profiles: tempfile::TempDir,
}

/// Starts chromedriver, or returns None (loudly) when the browser is not installed here.
pub async fn start_driver() -> Option<Driver> {
    let installed = std::path::Path::new("/usr/bin/chromedriver").exists()
        && std::path::Path::new("/usr/bin/chromium").exists();
    if !installed {
        suite_unavailable(
            "browser suite",
            "install the Debian packages chromium and chromium-driver to run it",
        );
        return None;
    }
    let port = free_port();
    let child = std::process::Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Some(Driver {
        _child: ChildGuard(child),
        url: format!("http://127.0.0.1:{port}"),
        _profiles: tempfile::tempdir().expect("profiles"),
    })
}

pub async fn browser(driver: &Driver, profile: &str, origin: &str) -> Client {
    let dir = driver._profiles.path().join(profile);
    let args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--use-fake-device-for-media-stream".into(),
        "--use-fake-ui-for-media-stream".into(),
        "--allow-loopback-in-peer-connection".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--no-first-run".into(),
        "--window-size=1280,800".into(),
        "--autoplay-policy=no-user-gesture-required".into(),
        // Every tenant hostname resolves to this machine, as DNS would in production.
        "--host-resolver-rules=MAP * 127.0.0.1".into(),
        format!("--user-data-dir={}", dir.display()),
        // Camera and microphone need a secure context; the test serves plain HTTP.
        format!("--unsafely-treat-insecure-origin-as-secure={origin}"),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": "/usr/bin/chromium", "args": args}),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("browser session")
}

/// Waits in the page until a remote video track has decoded frames; returns how many.
async fn frames_decoded(client: &Client) -> Value {
    let script = r#"
        const done = arguments[arguments.length - 1];
        const deadline = Date.now() + 15000;
        (async function poll() {
          try {
            const pc = window.meeting && window.meeting.pc;
            if (pc) {
                const stats = await pc.getStats();
                for (const report of stats.values()) {
                    if (report.type === "inbound-rtp" && report.kind === "video" && report.framesDecoded > 0) {
                        return done(report.framesDecoded);
                    }
                }
            }
            if (Date.now() > deadline) {
                const inbound = [];
                if (pc) for (const r of (await pc.getStats()).values()) if (r.type === "inbound-rtp") inbound.push([r.kind, r.packetsReceived, r.framesDecoded, r.framesReceived, r.keyFramesDecoded, r.pliCount, r.nackCount]);
                return done({ inbound, transceivers: pc ? pc.getTransceivers().map(t => [t.mid, t.direction, t.currentDirection, t.receiver.track.kind]) : [], timeout: true, status: document.getElementById("status").textContent,
                              state: pc ? pc.connectionState : "no peer connection",
                              me: window.meeting ? window.meeting.me : null,
                              ws: window.meeting && window.meeting.ws ? window.meeting.ws.readyState : null });
            }
            setTimeout(poll, 250);
          } catch (err) {
            done({ error: String(err), href: location.href, title: document.title, body: document.body ? document.body.innerText.slice(0, 300) : "" });
          }
        })();
    "#;
    client.execute_async(script, vec![]).await.expect("script")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browsers_see_each_other() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.joe_room("1234567", None).await;
    let port = app.addr.port();
    let origin = format!("http://joe.alpha.test:{port}");
    let alice = browser(&driver, "alice", &origin).await;
    let bob = browser(&driver, "bob", &origin).await;
    alice
        .goto(&format!(
            "http://joe.alpha.test:{port}/conf/call/1234567?name=Alice&skip_join=1"
        ))
        .await
        .expect("alice opens");
    bob.goto(&format!(
        "http://joe.alpha.test:{port}/conf/call/1234567?name=Bob&skip_join=1"
    ))
    .await
    .expect("bob opens");
    let seen_by_alice = frames_decoded(&alice).await;
    let seen_by_bob = frames_decoded(&bob).await;
    let sfu = app.state.media.as_ref().expect("media").sfu.stats().await;
    let _ = alice.close().await;
    let _ = bob.close().await;
    assert!(
        seen_by_alice.as_u64().is_some_and(|n| n > 0),
        "alice decoded {seen_by_alice}; SFU {sfu:?}"
    );
    assert!(
        seen_by_bob.as_u64().is_some_and(|n| n > 0),
        "bob decoded {seen_by_bob}; SFU {sfu:?}"
    );
}
