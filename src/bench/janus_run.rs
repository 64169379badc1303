//! The Janus run: a private Janus process, one videoroom per benchmark room, the same bots.

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use anyhow::Context;
use tokio::sync::{oneshot, watch};

use super::{
    SfuBenchArgs,
    figures::{self, Figures},
    janus_api::JanusSession,
    janus_bot::{self, JanusBotPlan},
    janus_server::JanusServer,
    peer::{SharedWindow, Window},
    procfs,
};

/// How long the publishers of a room may take to publish before the run gives up.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the bots against Janus and gathers the figures, with the address its media used.
pub async fn run(args: &SfuBenchArgs) -> anyhow::Result<(Figures, IpAddr)> {
    let janus = JanusServer::start(&args.janus_bin, args.janus_event_loops).await?;
    let admin = JanusSession::connect(&janus.ws_url).await?;
    let pps = args.packets_per_second();
    let window = SharedWindow::default();
    let mut tasks = Vec::new();
    let mut n = 0u32;
    for r in 0..args.rooms {
        let room = 1000 + u64::from(r);
        janus_bot::create_room(&admin, room, args.publishers, args.kbps)
            .await
            .context("creating the Janus room")?;
        // Janus subscribes to feeds that exist: the room's publishers go first, and the others
        // (and the publishers' own receiving side) follow once every publisher has published.
        let (feeds_tx, feeds_rx) = watch::channel(None);
        let mut published = Vec::new();
        let plan = |name: String, publish_pps, published| JanusBotPlan {
            ws_url: janus.ws_url.clone(),
            media_ip: janus.media_ip,
            room,
            name,
            publish_pps,
            payload_bytes: args.payload,
            window: window.clone(),
            published,
            feeds: feeds_rx.clone(),
        };
        for _ in 0..args.publishers {
            let (tx, rx) = oneshot::channel();
            published.push(rx);
            tasks.push(tokio::spawn(janus_bot::run(plan(
                format!("bot{n}"),
                Some(pps),
                Some(tx),
            ))));
            n += 1;
            tokio::time::sleep(super::JOIN_SPACING).await;
        }
        let mut feeds = Vec::new();
        for rx in published {
            // A publisher that failed is counted with the failures; the others go on.
            if let Ok(Ok(feed)) = tokio::time::timeout(PUBLISH_TIMEOUT, rx).await {
                feeds.push(feed);
            }
        }
        let _ = feeds_tx.send(Some(feeds));
        for _ in 0..args.subscribers + args.viewers {
            tasks.push(tokio::spawn(janus_bot::run(plan(
                format!("bot{n}"),
                None,
                None,
            ))));
            n += 1;
            tokio::time::sleep(super::JOIN_SPACING).await;
        }
    }
    let count_from = Instant::now() + super::SETTLE;
    let until = count_from + Duration::from_secs(args.duration);
    let _ = window.set(Window { count_from, until });
    tokio::time::sleep_until(count_from.into()).await;
    let cpu_before = janus.cpu_ms();
    tokio::time::sleep_until(until.into()).await;
    let cpu_after = janus.cpu_ms();
    let server_rss_mib = janus.rss_mib();
    let process_rss_mib = procfs::rss_mib("/proc/self/status");
    let mut results = Vec::new();
    for task in tasks {
        results.push(
            task.await
                .unwrap_or_else(|e| Err(anyhow::anyhow!("bot panicked: {e}"))),
        );
    }
    let mut figures = figures::from_bots("Janus", results, args.duration as f64);
    if figures.failed > 0 {
        eprintln!("Janus log, last lines:\n{}", janus.log_tail());
    }
    figures.cpu_seconds = cpu_after.saturating_sub(cpu_before) as f64 / 1e3;
    figures.cpu_scope = "the whole janus process, /proc/<pid>/stat";
    figures.server_rss_mib = Some(server_rss_mib);
    figures.process_rss_mib = process_rss_mib;
    admin.destroy().await;
    Ok((figures, janus.media_ip))
}
