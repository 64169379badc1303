//! Sign-in inside a cross-site iframe, in a real browser (Chromium through chromedriver): a parent
//! page on another site embeds `/auth` in an iframe. The host is signed in inside the frame, a
//! wrong key shows the 401 page there, and a company that does not list the parent's origin
//! refuses to be framed.

use std::{net::SocketAddr, time::Duration};

use axum::{Router, extract::Query, response::Html, routing::get};
use fantoccini::Client;
use serde_json::json;

use crate::{
    browser::{browser, start_driver},
    helpers::{ADMIN_PASSWORD, Backend, TestApp, TestReseller},
    sso::signable,
};

#[derive(serde::Deserialize)]
struct FrameQuery {
    src: String,
}

fn attribute(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

/// Serves `/?src=<url>`: a page that embeds `src` in an iframe, on its own origin.
async fn start_parent_site() -> SocketAddr {
    let app = Router::new().route(
        "/",
        get(|Query(q): Query<FrameQuery>| async move {
            Html(format!(
                "<!doctype html><title>Partner app</title><h1>Partner app</h1>\
                 <iframe id=\"meeting\" width=\"900\" height=\"600\" src=\"{}\"></iframe>",
                attribute(&q.src)
            ))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind parent");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// Loads the parent page around `src` and returns the frame's URL and text once it shows
/// `expected` (or whatever it shows after 10 s). The text ends with `role=<role>` once the meeting
/// page has joined its room.
async fn framed(
    browser: &Client,
    parent: SocketAddr,
    src: &str,
    expected: &str,
) -> (String, String) {
    let encoded: String = url::form_urlencoded::byte_serialize(src.as_bytes()).collect();
    browser
        .goto(&format!("http://{parent}/?src={encoded}"))
        .await
        .expect("open parent");
    let mut seen = (String::new(), String::new());
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if browser.enter_frame(0).await.is_err() {
            continue;
        }
        let read = browser
            .execute(
                "return [location.href, (document.body ? document.body.innerText : '') \
                   + ' role=' + ((window.meeting && window.meeting.role) || '')];",
                vec![],
            )
            .await;
        browser.enter_parent_frame().await.expect("back to parent");
        if let Ok(value) = read {
            let url = value[0].as_str().unwrap_or_default().to_string();
            let text = value[1].as_str().unwrap_or_default().to_string();
            seen = (url, text);
            if seen.1.contains(expected) {
                break;
            }
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_inside_a_cross_site_iframe() {
    let Some(driver) = start_driver().await else {
        return;
    };
    // The tenant and parent hostnames are `*.localhost`, a secure context for Chromium already.
    let browser = browser(&driver, "iframe-sso", "http://localhost").await;
    // Run the story in a task so that a failed assertion still closes the browser (killing only
    // chromedriver would leave Chromium running).
    let outcome = tokio::spawn(framed_sign_in(browser.clone())).await;
    let _ = browser.close().await;
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

async fn framed_sign_in(browser: Client) {
    // `https` cookies (SameSite=None; Secure; Partitioned); Chromium treats http://*.localhost as
    // a secure context, so the test needs no TLS.
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.public_scheme = "https".into()).await;
    let created = confab::tenancy::resellers::create(
        &app.state,
        "Local Meetings",
        "sso.localhost",
        "root@sso.localhost",
        ADMIN_PASSWORD,
    )
    .await
    .expect("reseller");
    let local = TestReseller {
        admin_token: app
            .login(&created.api_hostname, "root@sso.localhost", ADMIN_PASSWORD)
            .await,
        api_host: created.api_hostname.clone(),
        admin_email: "root@sso.localhost".into(),
    };
    let joe = signable(&app, &local, "joe").await;
    let ann = signable(&app, &local, "ann").await;
    let parent = start_parent_site().await;
    app.ok(
        &local.api_host,
        &local.admin_token,
        "company/update",
        json!({"company_id": joe.company_id, "embed_origins": [format!("http://{parent}")]}),
    )
    .await;
    let auth = |hostname: &str, host_id: i64, key: &str| {
        format!(
            "{}?host_id={host_id}&login_token_public_key={key}&remember_me=0",
            app.url(hostname, "/auth")
        )
    };
    // Signed in inside the frame: the upcoming page with the host's name and room.
    let (url, text) = framed(
        &browser,
        parent,
        &auth(&joe.hostname, joe.host_id, &joe.login_key),
        &joe.name,
    )
    .await;
    assert!(text.contains(&joe.name), "{url}: {text}");
    assert!(url.ends_with("/conf/calls/upcoming"), "{url}");
    assert!(
        text.contains(&format!("/conf/call/{}", joe.access_code)),
        "{text}"
    );

    // Straight into the room: the host joins with host controls (moderator, no PIN asked).
    let into_room: String = url::form_urlencoded::byte_serialize(
        format!("/conf/call/{}?skip_join=1&mute=mic,camera", joe.access_code).as_bytes(),
    )
    .collect();
    let src = format!(
        "{}&redirect_url={into_room}",
        auth(&joe.hostname, joe.host_id, &joe.login_key)
    );
    let (url, text) = framed(&browser, parent, &src, "role=moderator").await;
    assert!(text.contains("role=moderator"), "{url}: {text}");
    assert!(
        url.contains(&format!("/conf/call/{}", joe.access_code)),
        "{url}"
    );

    // A wrong key shows the themed 401 page inside the frame.
    let (url, text) = framed(
        &browser,
        parent,
        &auth(&joe.hostname, joe.host_id, "wrong-key"),
        "Not allowed",
    )
    .await;
    assert!(text.contains("Not allowed"), "{url}: {text}");

    // A company that does not list the parent's origin refuses to be framed: Chromium replaces
    // the frame with its error page ("refused to connect")...
    let ann_auth = auth(&ann.hostname, ann.host_id, &ann.login_key);
    let (url, text) = framed(&browser, parent, &ann_auth, "refused").await;
    assert!(
        !text.contains(&ann.name),
        "framed although not allowed: {url}: {text}"
    );
    assert!(url.starts_with("chrome-error://"), "{url}: {text}");
    // ...although the same sign-in works as a top-level page.
    browser.goto(&ann_auth).await.expect("top level");
    let text = browser
        .find(fantoccini::Locator::Css("body"))
        .await
        .expect("body")
        .text()
        .await
        .expect("text");
    assert!(text.contains(&ann.name), "{text}");
}
