//! Stream rates for the status line: samples the core's [`StreamStats`] counters about once
//! a second and turns their growth into updates per second and bytes per second.
//!
//! [`StreamStats`]: crate::core::event::StreamStats

use crate::core::event::StatsSample;

/// Seconds between two readings that produce a rate.
pub const PERIOD_S: f64 = 1.0;

/// Rates derived from successive [`StatsSample`]s.
#[derive(Clone, Debug, Default)]
pub struct RateMeter {
    /// The reading the current rates were measured from, and when (seconds).
    base: Option<(f64, StatsSample)>,
    updates_per_s: f64,
    bytes_per_s: f64,
}

impl RateMeter {
    /// Feeds a reading taken at `now_s`. Once at least [`PERIOD_S`] has passed since the
    /// last base reading, the rates become the growth over that span.
    pub fn observe(&mut self, now_s: f64, sample: StatsSample) {
        let Some((base_s, base)) = self.base else {
            self.base = Some((now_s, sample));
            return;
        };
        let elapsed_s = now_s - base_s;
        if elapsed_s < PERIOD_S {
            return;
        }
        // Counters only grow; saturate anyway so a reset reads as a quiet second.
        self.updates_per_s = sample.updates.saturating_sub(base.updates) as f64 / elapsed_s;
        self.bytes_per_s = sample.bytes_in.saturating_sub(base.bytes_in) as f64 / elapsed_s;
        self.base = Some((now_s, sample));
    }

    /// When to look again, in seconds from `now_s`: `None` once the rates are zero and the
    /// counters have not moved since the base reading, so an idle stream needs no repaint.
    pub fn next_reading_in_s(&self, now_s: f64, sample: &StatsSample) -> Option<f64> {
        let (base_s, base) = self.base?;
        let moved = sample.updates != base.updates || sample.bytes_in != base.bytes_in;
        let showing_traffic = self.updates_per_s > 0.0 || self.bytes_per_s > 0.0;
        (moved || showing_traffic).then(|| (PERIOD_S - (now_s - base_s)).max(0.0))
    }

    pub fn updates_per_s(&self) -> f64 {
        self.updates_per_s
    }

    pub fn bytes_per_s(&self) -> f64 {
        self.bytes_per_s
    }
}

/// Bandwidth for people: "0 KiB/s", "12.5 KiB/s", "3.2 MiB/s".
pub fn format_bandwidth(bytes_per_s: f64) -> String {
    const KIB: f64 = 1024.0;
    const MIB: f64 = 1024.0 * 1024.0;
    if bytes_per_s <= 0.0 {
        "0 KiB/s".to_owned()
    } else if bytes_per_s < 100.0 * KIB {
        format!("{:.1} KiB/s", bytes_per_s / KIB)
    } else if bytes_per_s < MIB {
        format!("{:.0} KiB/s", bytes_per_s / KIB)
    } else {
        format!("{:.1} MiB/s", bytes_per_s / MIB)
    }
}

/// Updates per second: whole numbers, one decimal below ten.
pub fn format_update_rate(updates_per_s: f64) -> String {
    if updates_per_s <= 0.0 {
        "0 upd/s".to_owned()
    } else if updates_per_s < 10.0 {
        format!("{updates_per_s:.1} upd/s")
    } else {
        format!("{updates_per_s:.0} upd/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(updates: u64, bytes_in: u64) -> StatsSample {
        StatsSample {
            bytes_in,
            updates,
            ..StatsSample::default()
        }
    }

    #[test]
    fn rates_come_from_growth_over_a_period_then_fall_to_zero() {
        let mut m = RateMeter::default();
        m.observe(10.0, sample(0, 0));
        assert_eq!(m.next_reading_in_s(10.0, &sample(0, 0)), None, "idle");

        // Traffic arrives: ask to be woken when the period is up.
        assert_eq!(m.next_reading_in_s(10.25, &sample(3, 100)), Some(0.75));
        m.observe(10.5, sample(6, 2048));
        assert_eq!(m.updates_per_s(), 0.0, "not a whole period yet");

        m.observe(12.0, sample(20, 4096));
        assert_eq!(m.updates_per_s(), 10.0);
        assert_eq!(m.bytes_per_s(), 2048.0);
        assert_eq!(m.next_reading_in_s(12.0, &sample(20, 4096)), Some(1.0));

        // A quiet second brings the rates to zero, and then nothing more is asked for.
        m.observe(13.0, sample(20, 4096));
        assert_eq!((m.updates_per_s(), m.bytes_per_s()), (0.0, 0.0));
        assert_eq!(m.next_reading_in_s(13.0, &sample(20, 4096)), None);
    }

    #[test]
    fn counter_reset_reads_as_quiet() {
        let mut m = RateMeter::default();
        m.observe(0.0, sample(100, 100_000));
        m.observe(1.0, sample(1, 10));
        assert_eq!((m.updates_per_s(), m.bytes_per_s()), (0.0, 0.0));
    }

    #[test]
    fn formats() {
        assert_eq!(format_bandwidth(0.0), "0 KiB/s");
        assert_eq!(format_bandwidth(512.0), "0.5 KiB/s");
        assert_eq!(format_bandwidth(200.0 * 1024.0), "200 KiB/s");
        assert_eq!(format_bandwidth(3.3 * 1024.0 * 1024.0), "3.3 MiB/s");
        assert_eq!(format_update_rate(0.0), "0 upd/s");
        assert_eq!(format_update_rate(2.5), "2.5 upd/s");
        assert_eq!(format_update_rate(29.7), "30 upd/s");
    }
}
