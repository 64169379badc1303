//! The figures of one run, computed the same way for every server from what the bots measured,
//! plus what the server process itself reports.

use std::time::Duration;

use super::bot::BotReport;

/// What one system did in the measured window.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub system: String,
    pub bots: u32,
    pub failed: u32,
    pub joined: usize,
    pub join_p50: Duration,
    pub join_p99: Duration,
    pub sent_per_s: f64,
    /// RTP packets the bots received per second: what the server forwarded to them.
    pub forwarded_per_s: f64,
    /// The server's own count of forwarded packets per second, where it keeps one.
    pub server_counted_per_s: Option<f64>,
    /// Send-to-receive delay at the bots.
    pub latency_p50: Duration,
    pub latency_p99: Duration,
    /// Server CPU in the window, seconds, and what it covers.
    pub cpu_seconds: f64,
    pub cpu_scope: &'static str,
    /// Resident memory of the server: `None` where it shares the process with the bots.
    pub server_rss_mib: Option<f64>,
    /// Resident memory of the benchmark process (bots, and the server when in-process).
    pub process_rss_mib: f64,
    pub seconds: f64,
}

impl Figures {
    /// Server CPU seconds per million forwarded packets.
    pub fn cpu_per_million(&self) -> Option<f64> {
        let forwarded = self.forwarded_per_s * self.seconds;
        (forwarded > 0.0).then(|| self.cpu_seconds / (forwarded / 1e6))
    }
}

fn percentile<T: Copy + Default>(sorted: &[T], q: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    sorted[(((sorted.len() - 1) as f64) * q).round() as usize]
}

/// Bot results gathered into figures; the server-side fields are left for the caller.
pub fn from_bots(system: &str, results: Vec<anyhow::Result<BotReport>>, seconds: f64) -> Figures {
    let mut figures = Figures {
        system: system.to_string(),
        bots: results.len() as u32,
        seconds,
        ..Figures::default()
    };
    let mut joins = Vec::new();
    let mut latencies: Vec<u32> = Vec::new();
    let (mut sent, mut received) = (0u64, 0u64);
    for result in results {
        match result {
            Ok(report) => {
                joins.extend(report.join_time);
                for peer in report.peers {
                    sent += peer.sent;
                    received += peer.received;
                    latencies.extend(peer.latencies_us);
                }
            }
            Err(err) => {
                figures.failed += 1;
                eprintln!("{system} bot failed: {err:#}");
            }
        }
    }
    joins.sort();
    latencies.sort_unstable();
    figures.joined = joins.len();
    figures.join_p50 = percentile(&joins, 0.5);
    figures.join_p99 = percentile(&joins, 0.99);
    figures.latency_p50 = Duration::from_micros(u64::from(percentile(&latencies, 0.5)));
    figures.latency_p99 = Duration::from_micros(u64::from(percentile(&latencies, 0.99)));
    figures.sent_per_s = sent as f64 / seconds;
    figures.forwarded_per_s = received as f64 / seconds;
    figures
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Prints one system's figures.
pub fn print(f: &Figures) {
    println!("--- {}", f.system);
    println!(
        "bots: {} ({} failed), joined: {}",
        f.bots, f.failed, f.joined
    );
    println!(
        "join time p50 / p99: {:.0} ms / {:.0} ms",
        ms(f.join_p50),
        ms(f.join_p99)
    );
    println!(
        "bots sent {:.0} packets/s; forwarded to bots (received) {:.0} packets/s",
        f.sent_per_s, f.forwarded_per_s
    );
    if let Some(counted) = f.server_counted_per_s {
        println!("server's own forwarded counter: {counted:.0} packets/s");
    }
    match f.cpu_per_million() {
        Some(per_million) => println!(
            "server CPU ({}): {:.2} s per million forwarded packets ({:.0}% of one core)",
            f.cpu_scope,
            per_million,
            f.cpu_seconds * 100.0 / f.seconds
        ),
        None => println!("server CPU ({}): nothing forwarded", f.cpu_scope),
    }
    println!(
        "forwarding latency at the bots (send -> receive) p50 / p99: {:.2} ms / {:.2} ms",
        ms(f.latency_p50),
        ms(f.latency_p99)
    );
    match f.server_rss_mib {
        Some(rss) => println!(
            "server RSS: {rss:.0} MiB (bench process with the bots: {:.0} MiB)",
            f.process_rss_mib
        ),
        None => println!(
            "process RSS (server and bots together): {:.0} MiB",
            f.process_rss_mib
        ),
    }
}

/// Prints the two systems next to each other, with Confab / Janus ratios.
pub fn print_comparison(confab: &Figures, janus: &Figures) {
    println!("--- side by side (Confab / Janus)");
    let ratio = |a: f64, b: f64| match b > 0.0 {
        true => format!("{:.2}", a / b),
        false => "-".to_string(),
    };
    println!(
        "forwarded packets/s: {:.0} / {:.0}",
        confab.forwarded_per_s, janus.forwarded_per_s
    );
    match (confab.cpu_per_million(), janus.cpu_per_million()) {
        (Some(c), Some(j)) => println!(
            "CPU s per million forwarded: {c:.2} / {j:.2}, ratio Confab/Janus {}",
            ratio(c, j)
        ),
        _ => println!("CPU s per million forwarded: one system forwarded nothing"),
    }
    println!(
        "latency p50: {:.2} / {:.2} ms, p99: {:.2} / {:.2} ms",
        ms(confab.latency_p50),
        ms(janus.latency_p50),
        ms(confab.latency_p99),
        ms(janus.latency_p99)
    );
    println!(
        "join p50: {:.0} / {:.0} ms, p99: {:.0} / {:.0} ms",
        ms(confab.join_p50),
        ms(janus.join_p50),
        ms(confab.join_p99),
        ms(janus.join_p99)
    );
    // Confab's server shares its process with the bots; the Janus run, which goes first, shows
    // what the bots alone hold.
    if let Some(janus_rss) = janus.server_rss_mib {
        println!(
            "RSS: Janus {janus_rss:.0} MiB; Confab about {:.0} MiB (its process with the bots {:.0} MiB, less the bots' {:.0} MiB in the Janus run)",
            (confab.process_rss_mib - janus.process_rss_mib).max(0.0),
            confab.process_rss_mib,
            janus.process_rss_mib
        );
    }
}
