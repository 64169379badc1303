//! CPU time and resident memory from Linux `/proc`, for the servers the benchmark measures.

/// utime + stime of a `/proc/.../stat` file, milliseconds; 0 where unreadable.
pub fn cpu_ms(stat_path: &str) -> u64 {
    let Ok(stat) = std::fs::read_to_string(stat_path) else {
        return 0;
    };
    // Fields after the parenthesised command name (which may hold spaces); utime and stime are
    // the 14th and 15th fields of the line, the 12th and 13th after the name.
    let Some((_, rest)) = stat.rsplit_once(')') else {
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
