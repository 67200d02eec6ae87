//! The machine the figures were measured on, read from `/proc`.

use serde::Serialize;

/// Facts about the machine that change what the figures mean.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// Logical CPUs this process may use.
    pub cpus: usize,
    /// The CPU model (`model name` in `/proc/cpuinfo`).
    pub cpu_model: String,
    /// Total memory in MiB (`MemTotal` in `/proc/meminfo`).
    pub memory_mib: u64,
}

impl Machine {
    /// Reads the machine's facts; unknown values are left empty or zero.
    pub fn detect() -> Self {
        let cpus = std::thread::available_parallelism().map_or(0, usize::from);
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| proc_value(&text, "model name"))
            .unwrap_or_default();
        let memory_mib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| proc_value(&text, "MemTotal"))
            .and_then(|value| kib_value(&value))
            .map_or(0, |kib| kib / 1024);
        Self {
            cpus,
            cpu_model,
            memory_mib,
        }
    }
}

/// Returns the value of the first `key: value` line of a `/proc` file.
pub fn proc_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name.trim() == key).then(|| value.trim().to_owned())
    })
}

/// Parses a `/proc` size such as `81236 kB` into KiB.
pub fn kib_value(value: &str) -> Option<u64> {
    value.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_value_finds_key() {
        let status = "Name:\tlk-web\nVmHWM:\t   81236 kB\nVmRSS:\t   70000 kB\n";
        assert_eq!(proc_value(status, "VmHWM").as_deref(), Some("81236 kB"));
        assert_eq!(kib_value("81236 kB"), Some(81236));
        assert_eq!(proc_value(status, "VmSwap"), None);
    }
}
