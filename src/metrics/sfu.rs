//! The SFU's figures, encoded at scrape time from one snapshot of its own counters.

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet},
    metrics::{MetricType, counter::ConstCounter, gauge::ConstGauge},
    registry::{Registry, Unit},
};

use crate::sfu::{LATENCY_BUCKETS_US, SfuStats};

/// A registry holding just this scrape's SFU figures (`confab_sfu_up 0` without a snapshot).
pub(super) fn registry(stats: Option<&SfuStats>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(SfuFigures(stats.cloned())));
    registry
}

#[derive(Debug)]
struct SfuFigures(Option<SfuStats>);

impl Collector for SfuFigures {
    fn encode(&self, mut out: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        gauge(
            &mut out,
            "confab_sfu_up",
            "1 when the media engine answered this scrape, else 0 (and no other SFU figure)",
            u64::from(self.0.is_some()),
        )?;
        let Some(s) = &self.0 else {
            return Ok(());
        };
        gauge(
            &mut out,
            "confab_sfu_rooms",
            "Rooms with at least one peer",
            s.rooms as u64,
        )?;
        gauge(
            &mut out,
            "confab_sfu_peers",
            "Peer connections",
            s.peers as u64,
        )?;
        gauge(
            &mut out,
            "confab_sfu_published_tracks",
            "Tracks peers publish",
            s.published_tracks as u64,
        )?;
        gauge(
            &mut out,
            "confab_sfu_subscriptions",
            "Forwarded tracks, one per track and receiving peer",
            s.subscriptions as u64,
        )?;
        counter(
            &mut out,
            "confab_sfu_received_datagrams",
            "UDP datagrams received on the media port",
            None,
            s.datagrams_in,
        )?;
        counter(
            &mut out,
            "confab_sfu_received",
            "Bytes of UDP datagrams received on the media port",
            Some(Unit::Bytes),
            s.received_bytes,
        )?;
        counter(
            &mut out,
            "confab_sfu_received_rtp_packets",
            "RTP packets decrypted from publishers",
            None,
            s.rtp_in,
        )?;
        counter(
            &mut out,
            "confab_sfu_forwarded_packets",
            "RTP packet copies handed to subscribers' connections",
            None,
            s.forwarded_packets,
        )?;
        counter(
            &mut out,
            "confab_sfu_forwarded",
            "RTP bytes (header and payload, before SRTP) of the forwarded copies",
            Some(Unit::Bytes),
            s.forwarded_bytes,
        )?;
        latency_histogram(&mut out, s)?;
        // One engine thread today: worker 0. More workers each get their own series.
        counter_family_f64(
            &mut out,
            "confab_sfu_worker_cpu",
            "CPU time (user + system) of each media engine thread",
            Unit::Seconds,
            "worker",
            &[("0", s.engine_cpu_ms as f64 / 1000.0)],
        )?;
        counter_family(
            &mut out,
            "confab_sfu_dropped_packets",
            "Packets the SFU dropped, by reason",
            "reason",
            &[
                ("unrouted", s.dropped_unrouted),
                ("muted", s.dropped_muted),
                ("unpublished", s.dropped_unpublished),
                ("send_failed", s.dropped_send_failed),
            ],
        )?;
        counter_family(
            &mut out,
            "confab_sfu_keyframe_requests_sent",
            "Keyframe requests (PLI) sent to publishers, by cause",
            "cause",
            &[
                ("relayed", s.keyframe_requests_relayed),
                ("new_track", s.keyframe_requests_new_track),
                ("new_subscriber", s.keyframe_requests_new_subscriber),
            ],
        )?;
        counter_family(
            &mut out,
            "confab_sfu_keyframe_requests_received",
            "Keyframe requests received from subscribers, by RTCP type",
            "type",
            &[("pli", s.pli_received), ("fir", s.fir_received)],
        )?;
        counter(
            &mut out,
            "confab_sfu_keyframe_requests_coalesced",
            "Keyframe requests not sent because one went to the same track less than 300 ms before",
            None,
            s.keyframe_requests_coalesced,
        )?;
        counter(
            &mut out,
            "confab_sfu_ice_disconnects",
            "Times a peer went silent for 5 s",
            None,
            s.ice_disconnects,
        )?;
        counter(
            &mut out,
            "confab_sfu_ice_renominations",
            "Times a client moved its ICE nomination to another of its addresses",
            None,
            s.ice_renominations,
        )?;
        counter(
            &mut out,
            "confab_sfu_ice_failures",
            "Peers removed after 20 s of silence",
            None,
            s.ice_failures,
        )
    }
}

fn gauge(
    out: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let gauge = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
    let metric = out.encode_descriptor(name, help, None, gauge.metric_type())?;
    gauge.encode(metric)
}

fn counter(
    out: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let counter = ConstCounter::new(value);
    let metric = out.encode_descriptor(name, help, unit.as_ref(), counter.metric_type())?;
    counter.encode(metric)
}

fn counter_family(
    out: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    series: &[(&str, u64)],
) -> Result<(), std::fmt::Error> {
    let mut metric = out.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (value, count) in series {
        let labels = [(label, *value)];
        ConstCounter::new(*count).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

fn counter_family_f64(
    out: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Unit,
    label: &str,
    series: &[(&str, f64)],
) -> Result<(), std::fmt::Error> {
    let mut metric = out.encode_descriptor(name, help, Some(&unit), MetricType::Counter)?;
    for (value, amount) in series {
        let labels = [(label, *value)];
        ConstCounter::new(*amount).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

/// `confab_sfu_forward_latency_seconds`: the SFU's bucket counts (not cumulative) with their
/// bounds in seconds; the encoder adds them up and writes `+Inf`.
fn latency_histogram(out: &mut DescriptorEncoder, s: &SfuStats) -> Result<(), std::fmt::Error> {
    let h = &s.forward_latency;
    let mut buckets = [(0.0, 0u64); LATENCY_BUCKETS_US.len() + 1];
    for (i, bucket) in buckets.iter_mut().enumerate() {
        let bound = LATENCY_BUCKETS_US
            .get(i)
            .map_or(f64::INFINITY, |us| *us as f64 / 1e6);
        *bucket = (bound, h.counts[i]);
    }
    let mut metric = out.encode_descriptor(
        "confab_sfu_forward_latency",
        "Time from a datagram batch's arrival to the end of forwarding its packets, per forwarded packet",
        Some(&Unit::Seconds),
        MetricType::Histogram,
    )?;
    metric.encode_histogram::<NoLabelSet>(h.sum_us as f64 / 1e6, h.count, &buckets, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_named_with_units_and_the_histogram_is_cumulative() {
        let mut stats = SfuStats {
            rooms: 1,
            peers: 2,
            forwarded_packets: 10,
            forwarded_bytes: 12_000,
            engine_cpu_ms: 1500,
            dropped_muted: 3,
            ..SfuStats::default()
        };
        stats.forward_latency.observe(40, 6);
        stats.forward_latency.observe(300, 3);
        stats.forward_latency.observe(30_000, 1);
        let text = super::super::Metrics::new().render(Some(&stats));
        for line in [
            "confab_sfu_up 1",
            "confab_sfu_rooms 1",
            "confab_sfu_peers 2",
            "confab_sfu_forwarded_packets_total 10",
            "confab_sfu_forwarded_bytes_total 12000",
            r#"confab_sfu_worker_cpu_seconds_total{worker="0"} 1.5"#,
            r#"confab_sfu_dropped_packets_total{reason="muted"} 3"#,
            r#"confab_sfu_forward_latency_seconds_bucket{le="5e-05"} 6"#,
            r#"confab_sfu_forward_latency_seconds_bucket{le="0.0005"} 9"#,
            r#"confab_sfu_forward_latency_seconds_bucket{le="0.02"} 9"#,
            r#"confab_sfu_forward_latency_seconds_bucket{le="+Inf"} 10"#,
            "confab_sfu_forward_latency_seconds_count 10",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
        }
    }

    #[test]
    fn without_a_snapshot_only_up_is_zero() {
        let text = super::super::Metrics::new().render(None);
        assert!(text.lines().any(|l| l == "confab_sfu_up 0"), "{text}");
        assert!(!text.contains("confab_sfu_rooms"), "{text}");
    }
}
