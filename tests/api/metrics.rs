//! Prometheus metrics: served on their own listener only, with the SFU's figures during a
//! meeting and the HTTP request counters by route template.

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use reqwest::StatusCode;

use crate::{
    bot::Bot,
    helpers::{Backend, TestApp, free_port, postgres_enabled},
};

const ROOM: &str = "3141592";
const MODERATOR_PIN: &str = "2718281";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    metrics_during_a_meeting(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    if postgres_enabled() {
        metrics_during_a_meeting(Backend::Postgres).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_by_default() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert!(
        app.state.metrics.is_none(),
        "nothing recorded without a listener"
    );
    let response = app.page("joe.alpha.test", "/metrics").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// Series name with its labels (`name{a="b"}`) → value, from the Prometheus text format.
type Scraped = HashMap<String, f64>;

async fn scrape(client: &reqwest::Client, metrics: SocketAddr) -> Scraped {
    let response = client
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = response.text().await.expect("metrics text");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

fn value(scraped: &Scraped, series: &str) -> f64 {
    *scraped
        .get(series)
        .unwrap_or_else(|| panic!("no {series} in {scraped:#?}"))
}

/// Sum of every series of `name` whose labels contain all of `labels`.
fn sum(scraped: &Scraped, name: &str, labels: &[&str]) -> f64 {
    scraped
        .iter()
        .filter(|(series, _)| {
            series.split_once('{').is_some_and(|(n, rest)| {
                n == name && labels.iter().all(|label| rest.contains(label))
            })
        })
        .map(|(_, v)| v)
        .sum()
}

async fn metrics_during_a_meeting(backend: Backend) {
    let metrics_addr: SocketAddr = format!("127.0.0.1:{}", free_port())
        .parse()
        .expect("metrics address");
    let app = TestApp::spawn_with(backend, |config| {
        config.metrics_listen = Some(metrics_addr);
    })
    .await;
    app.joe_room(ROOM, Some(MODERATOR_PIN)).await;
    let host = "joe.alpha.test";
    let alice = Bot::join(app.addr, host, ROOM, "Alice", Some(MODERATOR_PIN), true).await;
    let bob = Bot::join(app.addr, host, ROOM, "Bob", None, true).await;
    for (who, bot) in [("alice", &alice), ("bob", &bob)] {
        let flowing = bot
            .wait_until(Duration::from_secs(15), |tracks| {
                tracks.len() == 2 && tracks.values().all(|t| t.packets >= 20)
            })
            .await;
        assert!(flowing, "{who} received {:?}", bot.received());
    }
    // The main listener knows nothing of /metrics, on any hostname.
    for hostname in [host, "reseller-admin.alpha.test", "127.0.0.1"] {
        let response = app.page(hostname, "/metrics").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{hostname}");
    }
    let _ = app.page(host, "/no/such/page/4711").await;

    let scraped = scrape(&app.client, metrics_addr).await;
    assert_eq!(value(&scraped, "confab_sfu_up"), 1.0);
    assert_eq!(value(&scraped, "confab_sfu_rooms"), 1.0);
    assert_eq!(value(&scraped, "confab_sfu_peers"), 2.0);
    assert_eq!(value(&scraped, "confab_sfu_published_tracks"), 4.0);
    assert_eq!(value(&scraped, "confab_sfu_subscriptions"), 4.0);
    let forwarded = value(&scraped, "confab_sfu_forwarded_packets_total");
    assert!(forwarded > 0.0, "{scraped:#?}");
    assert!(value(&scraped, "confab_sfu_forwarded_bytes_total") > forwarded * 12.0);
    assert!(value(&scraped, "confab_sfu_received_bytes_total") > 0.0);
    // Every forwarded packet is in the latency histogram, and the buckets are cumulative.
    let count = value(&scraped, "confab_sfu_forward_latency_seconds_count");
    assert!(count > 0.0, "{scraped:#?}");
    assert_eq!(
        value(
            &scraped,
            r#"confab_sfu_forward_latency_seconds_bucket{le="+Inf"}"#
        ),
        count
    );
    assert!(
        value(
            &scraped,
            r#"confab_sfu_forward_latency_seconds_bucket{le="0.02"}"#
        ) <= count
    );
    assert!(value(&scraped, "confab_sfu_forward_latency_seconds_sum") > 0.0);
    // New tracks and new subscriptions each asked the publishers for a keyframe.
    assert!(
        sum(&scraped, "confab_sfu_keyframe_requests_sent_total", &[]) > 0.0,
        "{scraped:#?}"
    );
    assert!(scraped.contains_key(r#"confab_sfu_worker_cpu_seconds_total{worker="0"}"#));
    assert!(scraped.contains_key(r#"confab_sfu_dropped_packets_total{reason="unrouted"}"#));
    assert!(scraped.contains_key("confab_sfu_ice_disconnects_total"));
    assert!(scraped.contains_key("confab_sfu_ice_renominations_total"));

    // HTTP: by method, route template and status class.
    let created = sum(
        &scraped,
        "confab_http_requests_total",
        &[
            r#"method="POST""#,
            r#"route="/enterprise_api/host/create""#,
            r#"status="2xx""#,
        ],
    );
    assert!(created >= 1.0, "{scraped:#?}");
    let sockets = sum(
        &scraped,
        "confab_http_requests_total",
        &[r#"method="GET""#, r#"route="/conf/call/{code}/ws""#],
    );
    assert!(
        sockets >= 2.0,
        "both bots' WebSocket upgrades: {scraped:#?}"
    );
    let durations = sum(
        &scraped,
        "confab_http_request_duration_seconds_count",
        &[r#"route="/conf/call/{code}/ws""#],
    );
    assert_eq!(durations, sockets);
    // Raw paths never become labels: unknown pages and /metrics on the main listener count as
    // unmatched.
    let unmatched = sum(
        &scraped,
        "confab_http_requests_total",
        &[r#"route="unmatched""#, r#"status="4xx""#],
    );
    assert!(unmatched >= 4.0, "{scraped:#?}");
    assert!(
        !scraped
            .keys()
            .any(|s| s.contains("4711") || s.contains(r#"route="/metrics""#) || s.contains(ROOM)),
        "{scraped:#?}"
    );

    // The metrics listener serves nothing else.
    let response = app
        .client
        .get(format!("http://{metrics_addr}/healthz"))
        .send()
        .await
        .expect("metrics listener");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    alice.close().await;
    bob.close().await;
}
