//! CPU time and resident memory from Linux `/proc`, for the servers the benchmark measures.

/// utime + stime of a `/proc/.../stat` file, milliseconds (the SFU's reader of its own thread).
pub use crate::sfu::stats::cpu_ms;

/// VmRSS of a `/proc/.../status` file, MiB; 0 where unreadable.
pub fn rss_mib(status_path: &str) -> f64 {
    let status = std::fs::read_to_string(status_path).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        if !std::path::Path::new("/proc/self/stat").exists() {
            return;
        }
        assert!(rss_mib("/proc/self/status") > 0.0);
        assert_eq!(cpu_ms("/proc/no-such/stat"), 0);
    }
}
