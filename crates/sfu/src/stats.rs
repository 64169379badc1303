//! Counters, gauges and latency figures the engine keeps for `confab bench sfu` and monitoring.
//!
//! Everything here is plain integers bumped on the engine thread, so counting a packet costs an
//! addition and never an allocation; readers get a copy through [`crate::SfuHandle::stats`] or
//! [`crate::SfuHandle::counters`].

use std::time::Duration;

/// Upper bounds of the forwarding-latency histogram's buckets, in microseconds (the buckets
/// LiveKit uses for the same figure, so dashboards compare).
pub const LATENCY_BUCKETS_US: [u64; 9] = [50, 100, 250, 500, 1_000, 2_000, 5_000, 10_000, 20_000];

/// A snapshot of the SFU's work since start.
#[derive(Debug, Clone, Default)]
pub struct SfuStats {
    pub peers: usize,
    pub rooms: usize,
    /// Tracks currently published by peers.
    pub published_tracks: usize,
    /// Forwarded tracks currently subscribed (one per track and receiving peer).
    pub subscriptions: usize,
    pub datagrams_in: u64,
    /// Bytes of every datagram received on the media socket.
    pub received_bytes: u64,
    pub rtp_in: u64,
    pub forwarded_packets: u64,
    /// RTP bytes (header and payload, before SRTP) of every forwarded copy.
    pub forwarded_bytes: u64,
    /// Keyframe requests (PLI) sent to publishers, whatever the cause; the three below add up to it.
    pub keyframe_requests: u64,
    /// PLIs sent because a subscriber asked (its PLI or FIR relayed).
    pub keyframe_requests_relayed: u64,
    /// PLIs sent because a track was just published.
    pub keyframe_requests_new_track: u64,
    /// PLIs sent because a subscription just became ready.
    pub keyframe_requests_new_subscriber: u64,
    /// Keyframe requests not sent because one went to the same track less than 300 ms before.
    pub keyframe_requests_coalesced: u64,
    /// PLIs received from subscribers.
    pub pli_received: u64,
    /// FIRs received from subscribers.
    pub fir_received: u64,
    /// Datagrams that belonged to no peer (no known ufrag or address).
    pub dropped_unrouted: u64,
    /// Audio packets not forwarded because a moderator muted their publisher.
    pub dropped_muted: u64,
    /// RTP packets of no published track (receive-only peers, tracks already closed).
    pub dropped_unpublished: u64,
    /// Datagrams the socket refused to send (send buffer full): left to NACK and PLI to repair.
    pub dropped_send_failed: u64,
    /// Times a client moved its nomination to another of its addresses (media followed).
    pub ice_renominations: u64,
    /// Times a peer went silent for longer than the disconnect timeout.
    pub ice_disconnects: u64,
    /// Peers removed because they stayed silent past the failure timeout.
    pub ice_failures: u64,
    /// Forwarding latency (arrival of a packet to sending its copies), microseconds; computed
    /// from the reservoir by [`crate::SfuHandle::stats`] only, 0 from `counters`.
    pub forward_latency_p50_us: u64,
    pub forward_latency_p99_us: u64,
    /// The same latency, every forwarded packet counted in [`LATENCY_BUCKETS_US`].
    pub forward_latency: LatencyHistogram,
    /// CPU time the engine thread has used (user + system), milliseconds; 0 where unknown.
    pub engine_cpu_ms: u64,
}

/// Forwarded packets counted by how long their forwarding took.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencyHistogram {
    /// Packets per bucket, not cumulative: `counts[i]` took at most `LATENCY_BUCKETS_US[i]` and
    /// more than the bound before; the last counts those slower than every bound.
    pub counts: [u64; LATENCY_BUCKETS_US.len() + 1],
    /// Sum of every packet's latency, microseconds.
    pub sum_us: u64,
    /// Packets counted (the sum of `counts`).
    pub count: u64,
}

impl LatencyHistogram {
    /// Counts `packets` packets that each took `micros`.
    pub fn observe(&mut self, micros: u64, packets: u64) {
        let bucket = LATENCY_BUCKETS_US
            .iter()
            .position(|bound| micros <= *bound)
            .unwrap_or(LATENCY_BUCKETS_US.len());
        self.counts[bucket] += packets;
        self.count += packets;
        self.sum_us = self.sum_us.saturating_add(micros.saturating_mul(packets));
    }
}

/// Why a keyframe was requested from a publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyframeCause {
    /// A subscriber sent a PLI or FIR.
    Relayed,
    /// The track was just published.
    NewTrack,
    /// A subscription to the track just became ready.
    NewSubscriber,
}

/// Keeps the totals and a bounded reservoir of latency samples.
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
    /// Records the latency of `packets` packets forwarded in one batch: all of them in the
    /// histogram, up to 64 in the percentile reservoir (so one huge batch does not flood it).
    pub fn latency(&mut self, elapsed: Duration, packets: u64) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.totals.forward_latency.observe(micros, packets);
        let sample = u32::try_from(micros).unwrap_or(u32::MAX);
        for _ in 0..packets.min(64) {
            if self.samples.len() < RESERVOIR {
                self.samples.push(sample);
            } else {
                self.samples[self.next] = sample;
                self.next = (self.next + 1) % RESERVOIR;
            }
        }
    }

    /// Counts one keyframe request sent to a publisher.
    pub(crate) fn keyframe_sent(&mut self, cause: KeyframeCause) {
        let t = &mut self.totals;
        t.keyframe_requests += 1;
        match cause {
            KeyframeCause::Relayed => t.keyframe_requests_relayed += 1,
            KeyframeCause::NewTrack => t.keyframe_requests_new_track += 1,
            KeyframeCause::NewSubscriber => t.keyframe_requests_new_subscriber += 1,
        }
    }

    /// The totals, with the engine thread's CPU time read now (call it on that thread) and,
    /// when asked, the latency percentiles (which sort a copy of the reservoir).
    pub fn snapshot(&self, percentiles: bool) -> SfuStats {
        let mut stats = SfuStats {
            engine_cpu_ms: thread_cpu_ms(),
            ..self.totals.clone()
        };
        if percentiles {
            let mut sorted = self.samples.clone();
            sorted.sort_unstable();
            let pick = |q: f64| -> u64 {
                if sorted.is_empty() {
                    return 0;
                }
                let index = ((sorted.len() - 1) as f64 * q).round() as usize;
                u64::from(sorted[index.min(sorted.len() - 1)])
            };
            stats.forward_latency_p50_us = pick(0.50);
            stats.forward_latency_p99_us = pick(0.99);
        }
        stats
    }
}

/// CPU time of the calling thread from `/proc/thread-self/stat` (Linux), in milliseconds.
fn thread_cpu_ms() -> u64 {
    cpu_ms("/proc/thread-self/stat")
}

/// utime + stime of a Linux `/proc/.../stat` file (a process or a thread), in milliseconds; 0
/// where unreadable.
pub fn cpu_ms(stat_path: &str) -> u64 {
    let Ok(stat) = std::fs::read_to_string(stat_path) else {
        return 0;
    };
    // Fields after the parenthesised command name (which may hold spaces); utime and stime are
    // the 12th and 13th after it.
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
            c.latency(Duration::from_micros(us), 1);
        }
        let s = c.snapshot(true);
        assert_eq!(s.forward_latency_p50_us, 51);
        assert_eq!(s.forward_latency_p99_us, 99);
        let cheap = c.snapshot(false);
        assert_eq!(cheap.forward_latency_p50_us, 0, "no percentiles asked");
        assert_eq!(cheap.forward_latency.count, 100);
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

    #[test]
    fn histogram_buckets_are_upper_bounds() {
        let mut h = LatencyHistogram::default();
        h.observe(50, 1); // on the first bound: first bucket
        h.observe(51, 2); // just above: second bucket
        h.observe(20_000, 1); // the last bound
        h.observe(20_001, 3); // slower than every bound
        assert_eq!(h.counts, [1, 2, 0, 0, 0, 0, 0, 0, 1, 3]);
        assert_eq!(h.count, 7);
        assert_eq!(h.sum_us, 50 + 2 * 51 + 20_000 + 3 * 20_001);
    }

    #[test]
    fn every_batch_packet_is_counted_but_the_reservoir_takes_at_most_64() {
        let mut c = Collector::default();
        c.latency(Duration::from_micros(300), 1000);
        assert_eq!(c.totals.forward_latency.count, 1000);
        assert_eq!(c.totals.forward_latency.counts[3], 1000, "250 < 300 ≤ 500");
        assert_eq!(c.samples.len(), 64);
    }

    #[test]
    fn keyframe_causes_add_up_to_the_total() {
        let mut c = Collector::default();
        c.keyframe_sent(KeyframeCause::Relayed);
        c.keyframe_sent(KeyframeCause::NewTrack);
        c.keyframe_sent(KeyframeCause::NewSubscriber);
        c.keyframe_sent(KeyframeCause::Relayed);
        let t = &c.totals;
        assert_eq!(t.keyframe_requests, 4);
        assert_eq!(
            (
                t.keyframe_requests_relayed,
                t.keyframe_requests_new_track,
                t.keyframe_requests_new_subscriber
            ),
            (2, 1, 1)
        );
    }
}
