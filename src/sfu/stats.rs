//! Counters and latency samples the engine keeps for `confab bench sfu` and monitoring.

use std::time::Duration;

/// A snapshot of the SFU's work since start.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SfuStats {
    pub peers: usize,
    pub rooms: usize,
    pub datagrams_in: u64,
    pub rtp_in: u64,
    pub forwarded_packets: u64,
    pub keyframe_requests: u64,
    pub dropped_unrouted: u64,
    /// Forwarding latency (arrival of a packet to sending its copies), microseconds.
    pub forward_latency_p50_us: u64,
    pub forward_latency_p99_us: u64,
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
            forward_latency_p50_us: pick(0.50),
            forward_latency_p99_us: pick(0.99),
            ..self.totals.clone()
        }
    }
}
