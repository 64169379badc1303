//! Counters and latency samples the engine keeps for `confab bench sfu` and monitoring.

use std::time::Duration;

/// A snapshot of the SFU's work since start.
#[derive(Debug, Clone, Default)]
pub struct SfuStats {
    pub peers: usize,
    pub rooms: usize,
    pub datagrams_in: u64,
    pub rtp_in: u64,
    pub forwarded_packets: u64,
    pub keyframe_requests: u64,
    pub dropped_unrouted: u64,
    /// Times a client moved its nomination to another of its addresses (media followed).
    pub ice_renominations: u64,
    /// Times a peer went silent for longer than the disconnect timeout.
    pub ice_disconnects: u64,
    /// Peers removed because they stayed silent past the failure timeout.
    pub ice_failures: u64,
    /// Forwarding latency (arrival of a packet to sending its copies), microseconds.
    pub forward_latency_p50_us: u64,
    pub forward_latency_p99_us: u64,
    /// CPU time the engine thread has used (user + system), milliseconds; 0 where unknown.
    pub engine_cpu_ms: u64,
}

/// Keeps a bounded reservoir of latency samples.
pub struct Collector {
    pub totals: SfuStats,
    samples: Vec<u32>,
    next: usize,
}

const RESERVOIR: usize = 65_536;

impl Default for Collector {
    fn default() -> Self {
        Self {
            totals: SfuStats::default(),
            samples: Vec::with_capacity(RESERVOIR),
            next: 0,
        }
    }
}

impl Collector {
    /// Records the latency of one forwarded packet.
    pub fn latency(&mut self, elapsed: Duration) {
        let micros = u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX);
        if self.samples.len() < RESERVOIR {
            self.samples.push(micros);
        } else {
            self.samples[self.next] = micros;
            self.next = (self.next + 1) % RESERVOIR;
        }
    }

    /// Totals with percentiles computed now.
    pub fn snapshot(&self, peers: usize, rooms: usize) -> SfuStats {
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        let pick = |q: f64| -> u64 {
            if sorted.is_empty() {
                return 0;
            }
            let index = ((sorted.len() - 1) as f64 * q).round() as usize;
            u64::from(sorted[index.min(sorted.len() - 1)])
        };
        SfuStats {
            peers,
            rooms,
            engine_cpu_ms: thread_cpu_ms(),
            forward_latency_p50_us: pick(0.50),
            forward_latency_p99_us: pick(0.99),
            ..self.totals.clone()
        }
    }
}

/// CPU time of the calling thread from `/proc/thread-self/stat` (Linux), in milliseconds.
fn thread_cpu_ms() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/thread-self/stat") else {
        return 0;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Clock ticks are 100 per second on Linux.
    (ticks(11) + ticks(12)) * 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_cpu() {
        let mut c = Collector::default();
        for us in 1..=100u64 {
            c.latency(Duration::from_micros(us));
        }
        let s = c.snapshot(0, 0);
        assert_eq!(s.forward_latency_p50_us, 51);
        assert_eq!(s.forward_latency_p99_us, 99);
        if std::path::Path::new("/proc/thread-self/stat").exists() {
            // Burn CPU until the kernel has accounted at least one tick to this thread; on a
            // loaded machine that takes longer than the same amount of wall time.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            let mut spins = 0u64;
            while thread_cpu_ms() == 0 && std::time::Instant::now() < deadline {
                spins = spins.wrapping_add(1);
            }
            assert!(
                thread_cpu_ms() > 0,
                "no CPU time accounted after {spins} spins"
            );
        }
    }
}
