//! CPU clocks and memory of processes, from /proc: what the benches that run Lookout as a
//! program (peers, console) measure it by; and their knobs, from the environment.

use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

/// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`, 100 on Linux).
pub fn clock_ticks_per_s() -> Result<f64> {
    let out = Command::new("getconf").arg("CLK_TCK").output();
    let ticks = match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .context("parsing `getconf CLK_TCK`")?,
        _ => 100.0,
    };
    Ok(ticks)
}

/// A /proc `stat` file: the command name and the numbers after the state letter (field 0
/// is ppid, 1 pgrp, …, 10 utime, 11 stime).
pub fn read_stat(path: &Path) -> Result<(String, Vec<u64>)> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (head, rest) = text.rsplit_once(')').context("malformed /proc stat")?;
    let name = head.split_once('(').map_or("", |(_, name)| name).to_owned();
    let fields = rest
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    Ok((name, fields))
}

pub fn cpu_ticks(fields: &[u64]) -> u64 {
    fields.get(10).copied().unwrap_or(0) + fields.get(11).copied().unwrap_or(0)
}

/// utime + stime of a process (all its threads), in clock ticks.
pub fn process_ticks(pid: u32) -> Result<u64> {
    Ok(cpu_ticks(
        &read_stat(Path::new(&format!("/proc/{pid}/stat")))?.1,
    ))
}

/// A `/proc/PID/status` field in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(pid: u32, field: &str) -> Result<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// A number from the environment variable `name`, or `default` when it is unset.
pub fn env_u64(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .with_context(|| format!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}
