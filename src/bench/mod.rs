//! `confab bench sfu`: load on the SFU from in-process bots on loopback, with figures printed.

mod bot;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use clap::Args;

use crate::{app::AppState, config::Config, tenancy};

/// Shape of the load.
#[derive(Args, Debug, Clone)]
pub struct SfuBenchArgs {
    /// Participants per room that publish video (they also receive each other).
    #[arg(long, default_value_t = 4)]
    pub publishers: u32,
    /// Participants per room that only receive.
    #[arg(long, default_value_t = 4)]
    pub subscribers: u32,
    /// Live stream viewers per room (hidden, receive-only).
    #[arg(long, default_value_t = 0)]
    pub viewers: u32,
    /// Number of rooms.
    #[arg(long, default_value_t = 1)]
    pub rooms: u32,
    /// Measured seconds (after everyone joined).
    #[arg(long, default_value_t = 15)]
    pub duration: u64,
    /// Video bitrate of each publisher, kbit/s.
    #[arg(long, default_value_t = 1000)]
    pub kbps: u32,
    /// RTP payload size in bytes.
    #[arg(long, default_value_t = 1100)]
    pub payload: usize,
    /// A running server (`127.0.0.1:8080`) instead of an in-process one; needs --host and --code.
    #[arg(long)]
    pub server: Option<SocketAddr>,
    /// Tenant hostname of the room on --server (e.g. `joe.localhost`).
    #[arg(long)]
    pub host: Option<String>,
    /// Access code of the room on --server (one room).
    #[arg(long)]
    pub code: Option<String>,
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(((sorted.len() - 1) as f64) * q).round() as usize]
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// An in-process server with one host room per benchmark room.
async fn local_server(
    rooms: u32,
) -> anyhow::Result<(AppState, SocketAddr, tempfile::TempDir, Vec<String>)> {
    let dir = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = Config {
        database_url: format!("sqlite://{}/bench.db", dir.path().display()),
        listen: addr,
        data_dir: dir.path().to_path_buf(),
        media_udp: "127.0.0.1:0".parse()?,
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

/// Runs the benchmark and prints its figures.
pub async fn sfu(args: SfuBenchArgs) -> anyhow::Result<()> {
    let (state, server, host, codes, _dir) = match (&args.server, &args.host, &args.code) {
        (Some(server), Some(host), Some(code)) => {
            (None, *server, host.clone(), vec![code.clone()], None)
        }
        (None, _, _) => {
            let (state, addr, dir, codes) = local_server(args.rooms).await?;
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
    let pps = ((u64::from(args.kbps) * 1000 / 8) / args.payload.max(1) as u64).max(1) as u32;
    let bots = codes.len() as u32 * per_room;
    // Joins are spread so the server is not measured on a thundering herd.
    let join_window = Duration::from_millis(u64::from(bots) * 40 + 2000);
    let count_from = Instant::now() + join_window;
    let until = count_from + Duration::from_secs(args.duration);
    println!(
        "confab bench sfu: {} room(s) x ({} publishers + {} subscribers + {} viewers), {} kbit/s ({} packets/s of {} bytes) per publisher, {} s measured",
        codes.len(),
        args.publishers,
        args.subscribers,
        args.viewers,
        args.kbps,
        pps,
        args.payload,
        args.duration
    );
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
                count_from,
                until,
            };
            n += 1;
            tasks.push(tokio::spawn(bot::run(plan)));
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }
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
    let rss = rss_mib();
    let mut joins = Vec::new();
    let (mut sent, mut received, mut failed) = (0u64, 0u64, 0u32);
    for task in tasks {
        match task.await {
            Ok(Ok(report)) => {
                joins.extend(report.join_time);
                sent += report.sent;
                received += report.received;
            }
            Ok(Err(err)) => {
                failed += 1;
                eprintln!("bot failed: {err:#}");
            }
            Err(err) => {
                failed += 1;
                eprintln!("bot panicked: {err}");
            }
        }
    }
    joins.sort();
    let secs = args.duration as f64;
    println!("bots: {bots} ({failed} failed), joined: {}", joins.len());
    println!(
        "join time p50 / p99: {:.0} ms / {:.0} ms",
        percentile(&joins, 0.5).as_secs_f64() * 1e3,
        percentile(&joins, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "bots sent {:.0} packets/s, received {:.0} packets/s",
        sent as f64 / secs,
        received as f64 / secs
    );
    if let (Some(before), Some(after)) = (before, after) {
        let forwarded = after
            .forwarded_packets
            .saturating_sub(before.forwarded_packets);
        let cpu_ms = after.engine_cpu_ms.saturating_sub(before.engine_cpu_ms);
        println!("SFU forwarded {:.0} packets/s", forwarded as f64 / secs);
        if forwarded > 0 {
            println!(
                "SFU engine CPU: {:.2} s per million forwarded packets ({:.0}% of one core)",
                cpu_ms as f64 / 1e3 / (forwarded as f64 / 1e6),
                cpu_ms as f64 / 10.0 / secs
            );
        }
        println!(
            "forwarding latency p50 / p99: {} us / {} us",
            after.forward_latency_p50_us, after.forward_latency_p99_us
        );
        println!("process RSS (server and bots together): {rss:.0} MiB");
    } else {
        println!("(server-side figures are printed only for the in-process server)");
    }
    Ok(())
}
