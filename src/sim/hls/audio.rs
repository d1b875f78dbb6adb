//! The recorder's sound: a quiet 220 Hz hum and a short 1 kHz beep at each click of the
//! agent's script, a pure function of the sample number (48 kHz, since the recording
//! started), so every encode of a moment sounds the same.
//!
//! The clicks are found once by playing one cycle of the desktop's script: a click is
//! where the pointer comes to rest on a widget (the search field, the captcha box), which
//! is within a tick of where the script clicks.

use std::f64::consts::TAU;
use std::sync::OnceLock;

use super::media::{HEIGHT, WIDTH};
use crate::sim::desktop::{CYCLE_TICKS, Desktop, TICKS_PER_SECOND};

/// Samples per second.
pub(crate) const RATE: u32 = 48_000;
/// Samples per desktop tick.
const SAMPLES_PER_TICK: u64 = RATE as u64 / TICKS_PER_SECOND;
/// The hum's frequency (a whole number of hertz, so it repeats every second) and level.
const HUM_HZ: f64 = 220.0;
const HUM_LEVEL: f64 = 0.02;
/// The beep's frequency, level and length.
const BEEP_HZ: f64 = 1_000.0;
const BEEP_LEVEL: f64 = 0.3;
const BEEP_SAMPLES: u64 = RATE as u64 * 12 / 100;
/// The beep's rise, so that it starts without a crack.
const BEEP_ATTACK_SAMPLES: u64 = RATE as u64 / 500;

/// Ticks a pointer rests on a widget after a click (the agent types into the field, then
/// waits for the captcha), which a pointer merely parked over one as the page scrolls does
/// not.
const CLICK_REST_TICKS: usize = 24;

/// The ticks of one script cycle at which the agent clicks.
pub(crate) fn click_ticks() -> &'static [u64] {
    static TICKS: OnceLock<Vec<u64>> = OnceLock::new();
    TICKS.get_or_init(|| {
        let Ok(mut desktop) = Desktop::new(WIDTH, HEIGHT, "clicks", 0) else {
            return Vec::new();
        };
        let len = CYCLE_TICKS as usize + CLICK_REST_TICKS + 1;
        let mut states = Vec::with_capacity(len);
        for _ in 0..len {
            let (x, y) = desktop.pointer();
            states.push(((x, y), desktop.widget_at(x.into(), y.into())));
            desktop.advance();
        }
        (1..=CYCLE_TICKS as usize)
            .filter(|&t| {
                let Some(&(at, Some(widget))) = states.get(t) else {
                    return false;
                };
                let arrived = states.get(t - 1).is_some_and(|s| s.0 != at);
                let rests = states
                    .get(t..=t + CLICK_REST_TICKS)
                    .is_some_and(|next| next.iter().all(|s| *s == (at, Some(widget))));
                arrived && rests
            })
            .map(|t| t as u64 % CYCLE_TICKS)
            .collect()
    })
}

/// The sound at sample `n` (since the recording started), in -1..=1, the same on both
/// channels.
pub(crate) fn sample(n: u64) -> f32 {
    let rate = u64::from(RATE);
    let hum = (TAU * HUM_HZ * (n % rate) as f64 / rate as f64).sin() * HUM_LEVEL;
    let cycle = CYCLE_TICKS * SAMPLES_PER_TICK;
    let into = n % cycle;
    let beep: f64 = click_ticks()
        .iter()
        .map(|&tick| tick * SAMPLES_PER_TICK)
        .filter(|&onset| (onset..onset + BEEP_SAMPLES).contains(&into))
        .map(|onset| {
            let t = into - onset;
            let rise = (t as f64 / BEEP_ATTACK_SAMPLES as f64).min(1.0);
            let fall = 1.0 - t as f64 / BEEP_SAMPLES as f64;
            (TAU * BEEP_HZ * t as f64 / rate as f64).sin() * BEEP_LEVEL * rise * fall
        })
        .sum();
    (hum + beep) as f32
}
