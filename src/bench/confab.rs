//! The Confab run: an in-process server (or a running one) and the bots of [`bot`].

use std::{
    net::{IpAddr, SocketAddr},
    time::{Duration, Instant},
};

use super::{
    SfuBenchArgs, bot,
    figures::{self, Figures},
    peer::{SharedWindow, Window},
    procfs,
};
use crate::{app::AppState, config::Config, tenancy};

/// An in-process server with one host room per benchmark room.
async fn local_server(
    rooms: u32,
    media_ip: IpAddr,
) -> anyhow::Result<(AppState, SocketAddr, tempfile::TempDir, Vec<String>)> {
    let dir = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = Config {
        database_url: format!("sqlite://{}/bench.db", dir.path().display()),
        listen: addr,
        data_dir: dir.path().to_path_buf(),
        media_udp: SocketAddr::new(media_ip, 0),
        // Every bot joins from 127.0.0.1: the per-address join limit would refuse most of them.
        joins_per_address_per_minute: 1_000_000,
        media_max_video_kbps: 100_000,
        ..Config::default()
    };
    let state = AppState::build(config).await?;
    let err = |e: crate::error::AppError| anyhow::anyhow!(e.message);
    let reseller = tenancy::resellers::create(
        &state,
        "Bench",
        "bench.test",
        "bench@bench.test",
        "bench-password",
    )
    .await
    .map_err(err)?;
    let company_id = tenancy::companies::create(
        &state,
        reseller.reseller_id,
        "bench.test",
        tenancy::companies::NewCompanyInput {
            subdomain: "room".into(),
            name: "Bench".into(),
            openid_provider: false,
            primary_dialin_number: None,
        },
    )
    .await
    .map_err(err)?;
    let company = crate::store::companies::get(&state.db, reseller.reseller_id, company_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("company"))?;
    let mut codes = Vec::new();
    for i in 0..rooms {
        let code = format!("{}", 5_000_000 + i);
        tenancy::hosts::create(
            &state,
            &company,
            tenancy::hosts::NewHostInput {
                company_id,
                name: format!("Room {i}"),
                email: format!("room{i}@bench.test"),
                password: None,
                send_welcome_email: false,
                role: crate::auth::Role::Host,
                openid_sub: None,
                subscription_ids: vec![],
                moderator_pin: None,
                access_code: Some(code.clone()),
            },
        )
        .await
        .map_err(err)?;
        codes.push(code);
    }
    tokio::spawn(crate::app::serve(
        state.clone(),
        listener,
        std::future::pending(),
    ));
    Ok((state, addr, dir, codes))
}

/// Runs the bots against Confab and gathers the figures; the in-process SFU and the bots' media
/// sockets are bound to `media_ip`.
pub async fn run(args: &SfuBenchArgs, media_ip: IpAddr) -> anyhow::Result<Figures> {
    let (state, server, host, codes, _dir) = match (&args.server, &args.host, &args.code) {
        (Some(server), Some(host), Some(code)) => {
            (None, *server, host.clone(), vec![code.clone()], None)
        }
        (None, _, _) => {
            let (state, addr, dir, codes) = local_server(args.rooms, media_ip).await?;
            (
                Some(state),
                addr,
                "room.bench.test".to_string(),
                codes,
                Some(dir),
            )
        }
        _ => anyhow::bail!("--server needs --host and --code"),
    };
    let per_room = args.publishers + args.subscribers + args.viewers;
    let pps = args.packets_per_second();
    let window = SharedWindow::default();
    let mut tasks = Vec::new();
    let mut n = 0u32;
    for code in &codes {
        for i in 0..per_room {
            let plan = bot::BotPlan {
                server,
                host: host.clone(),
                code: code.clone(),
                name: format!("bot{n}"),
                publish_pps: (i < args.publishers).then_some(pps),
                viewer: i >= args.publishers + args.subscribers,
                payload_bytes: args.payload,
                media_ip,
                window: window.clone(),
            };
            n += 1;
            tasks.push(tokio::spawn(bot::run(plan)));
            tokio::time::sleep(super::JOIN_SPACING).await;
        }
    }
    // Joins are spread so the server is not measured on a thundering herd; the window opens
    // once the last bot has had time to connect.
    let count_from = Instant::now() + super::SETTLE;
    let until = count_from + Duration::from_secs(args.duration);
    let _ = window.set(Window { count_from, until });
    let sfu = state
        .as_ref()
        .and_then(|s| s.media.clone())
        .map(|m| m.sfu.clone());
    tokio::time::sleep_until(count_from.into()).await;
    let before = match &sfu {
        Some(sfu) => Some(sfu.stats().await?),
        None => None,
    };
    tokio::time::sleep_until(until.into()).await;
    let after = match &sfu {
        Some(sfu) => Some(sfu.stats().await?),
        None => None,
    };
    let process_rss_mib = procfs::rss_mib("/proc/self/status");
    let mut results = Vec::new();
    for task in tasks {
        results.push(
            task.await
                .unwrap_or_else(|e| Err(anyhow::anyhow!("bot panicked: {e}"))),
        );
    }
    let secs = args.duration as f64;
    let mut figures = figures::from_bots("Confab", results, secs);
    figures.process_rss_mib = process_rss_mib;
    figures.cpu_scope = "the SFU engine thread, from its /proc/thread-self/stat";
    if let (Some(before), Some(after)) = (before, after) {
        let forwarded = after
            .forwarded_packets
            .saturating_sub(before.forwarded_packets);
        figures.server_counted_per_s = Some(forwarded as f64 / secs);
        figures.cpu_seconds = after.engine_cpu_ms.saturating_sub(before.engine_cpu_ms) as f64 / 1e3;
        println!(
            "(Confab SFU's own latency, datagram arrival to end of the sending pass, p50 / p99: {} us / {} us)",
            after.forward_latency_p50_us, after.forward_latency_p99_us
        );
    } else {
        figures.cpu_scope = "not measured: server in another process";
    }
    Ok(figures)
}
