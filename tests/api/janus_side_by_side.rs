//! `confab bench sfu --peer janus`: the same bots and room shape against Confab and a private
//! Janus videoroom in one run, and both systems really forward media to the bots.

use std::path::Path;

use confab::bench::{SfuBenchArgs, side_by_side, which};

use crate::helpers::suite_unavailable;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confab_and_janus_both_forward_the_bots_media() {
    if which(Path::new("janus")).is_none() {
        suite_unavailable(
            "Janus side-by-side benchmark",
            "install Debian's `janus` package to run it",
        );
        return;
    }
    let args = SfuBenchArgs {
        publishers: 2,
        subscribers: 2,
        viewers: 0,
        rooms: 1,
        duration: 3,
        kbps: 500,
        payload: 1000,
        server: None,
        host: None,
        code: None,
        peer: Some(confab::bench::PeerSfu::Janus),
        janus_bin: "janus".into(),
        janus_event_loops: 0,
    };
    let (confab, janus) = side_by_side(&args).await.expect("side-by-side run");
    for figures in [&confab, &janus] {
        assert_eq!(figures.failed, 0, "{}: bots failed", figures.system);
        assert_eq!(figures.joined, 4, "{}: every bot connected", figures.system);
        assert!(
            figures.sent_per_s > 0.0,
            "{}: publishers sent nothing",
            figures.system
        );
        assert!(
            figures.forwarded_per_s > 0.0,
            "{}: nothing reached the bots",
            figures.system
        );
        assert!(
            figures.cpu_per_million().is_some(),
            "{}: no CPU figure",
            figures.system
        );
        // The stamps written at send were read back at receive.
        assert!(
            !figures.latency_p99.is_zero(),
            "{}: no latency measured",
            figures.system
        );
    }
    assert!(janus.server_rss_mib.is_some_and(|rss| rss > 0.0));
}
