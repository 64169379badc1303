//! `confab bench sfu`: load on the SFU from in-process bots on loopback, with figures printed;
//! with `--peer janus`, the same bots and room shapes against a local Janus videoroom too.

mod bot;
mod confab;
pub mod figures;
mod janus_api;
mod janus_bot;
mod janus_run;
mod janus_server;
mod peer;
mod procfs;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};

pub use figures::Figures;

/// Time between two bots' joins.
const JOIN_SPACING: Duration = Duration::from_millis(40);
/// Time after the last join before the measured window opens.
const SETTLE: Duration = Duration::from_secs(2);

/// Another SFU to run the same load against.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerSfu {
    /// A Janus process (videoroom plugin, WebSocket transport) started for the run.
    Janus,
}

/// Shape of the load.
#[derive(Args, Debug, Clone)]
pub struct SfuBenchArgs {
    /// Participants per room that publish video (they also receive each other).
    #[arg(long, default_value_t = 4)]
    pub publishers: u32,
    /// Participants per room that only receive.
    #[arg(long, default_value_t = 4)]
    pub subscribers: u32,
    /// Live stream viewers per room (hidden, receive-only, every publisher's video).
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
    /// Also run the same load against this SFU and print both systems' figures.
    #[arg(long)]
    pub peer: Option<PeerSfu>,
    /// The Janus binary for `--peer janus`.
    #[arg(long, default_value = "janus")]
    pub janus_bin: PathBuf,
    /// Janus `event_loops` (0 = its default, one loop thread per handle).
    #[arg(long, default_value_t = 0)]
    pub janus_event_loops: u32,
}

impl SfuBenchArgs {
    /// Packets per second of one publisher.
    fn packets_per_second(&self) -> u32 {
        ((u64::from(self.kbps) * 1000 / 8) / self.payload.max(1) as u64).max(1) as u32
    }
}

/// Runs the benchmark and prints its figures.
pub async fn sfu(args: SfuBenchArgs) -> anyhow::Result<()> {
    println!(
        "confab bench sfu: {} room(s) x ({} publishers + {} subscribers + {} viewers), {} kbit/s ({} packets/s of {} bytes) per publisher, {} s measured",
        args.rooms,
        args.publishers,
        args.subscribers,
        args.viewers,
        args.kbps,
        args.packets_per_second(),
        args.payload.max(peer::MIN_PAYLOAD),
        args.duration
    );
    match args.peer {
        None => figures::print(&confab::run(&args, peer::LOOPBACK).await?),
        Some(PeerSfu::Janus) => {
            let (confab, janus) = side_by_side(&args).await?;
            figures::print(&confab);
            figures::print(&janus);
            figures::print_comparison(&confab, &janus);
        }
    }
    Ok(())
}

/// The same load against Janus, then against Confab: (Confab, Janus).
///
/// Janus goes first, so the benchmark process's memory in its run is the bots' alone, which
/// puts a figure on the bots' share of the in-process Confab run.
pub async fn side_by_side(args: &SfuBenchArgs) -> anyhow::Result<(Figures, Figures)> {
    if which(&args.janus_bin).is_none() {
        anyhow::bail!(
            "{} not found (Debian: apt-get install janus)",
            args.janus_bin.display()
        );
    }
    let (janus, media_ip) = janus_run::run(args).await?;
    // Confab's SFU and bots use Janus's media address too, so both runs take the same path.
    let confab = confab::run(args, media_ip).await?;
    Ok((confab, janus))
}

/// The path of a binary, looked up in `PATH` when it has no directory part.
pub fn which(bin: &std::path::Path) -> Option<PathBuf> {
    if bin.components().count() > 1 {
        return bin.is_file().then(|| bin.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(bin))
            .find(|candidate| candidate.is_file())
    })
}
