//! When to show each decoded frame: the play-out clock shared by a stream's video and
//! audio decoders.
//!
//! Every frame carries an estimate of when it was captured (the segment's
//! `EXT-X-PROGRAM-DATE-TIME`, or when the segment appeared, minus its duration, plus the
//! frame's offset in the segment). A frame is shown at `capture + delay`. The delay is
//! what the view calls "behind live":
//!
//! - it starts at the first segment's duration plus the reload interval, the least that
//!   lets the next segment arrive in time, and frames of the first segment already older
//!   than that are dropped;
//! - a frame that is late because its segment arrived late raises the delay (the picture
//!   holds, then goes on): that is a stall, not something to skip;
//! - a frame that is late although its segment was there in time is dropped (we are
//!   catching up);
//! - when the delay has grown more than one target duration past what recent segments
//!   needed, it drops back to that need: the frames in between are skipped ("catch up by
//!   dropping frames"). "Jump to live" does the same at once.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Headroom added to a measured need, so ordinary jitter does not stall.
pub const MARGIN: Duration = Duration::from_millis(60);
/// A frame later than this (and not due to its segment) is dropped rather than shown.
pub const LATE_TOLERANCE: Duration = Duration::from_millis(60);
/// Sound this late is still played (a little late) rather than cut: in a stream with
/// both, sound is demuxed next to pictures the decoder holds for a frame or two.
pub const SOUND_TOLERANCE: Duration = Duration::from_millis(300);
/// How many recent segments' needs the catch-up rule looks at.
const NEED_WINDOW: usize = 3;

/// What to do with a decoded frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Show it at this instant (now or later).
    ShowAt(Instant),
    /// Skip it (we are behind).
    Drop,
}

#[derive(Debug)]
struct State {
    /// `show = capture + delay`; `None` until the first frame.
    delay: Option<Duration>,
    /// The least delay recent segments needed (arrival − capture of their first frame).
    needs: VecDeque<Duration>,
    /// The playlist's target duration.
    target: Duration,
    /// The delay to start with, before any need is measured.
    initial: Duration,
    /// Set by "Jump to live"; applied at the next frame.
    jump: bool,
    /// Frames shown / dropped, for the status line and tests.
    shown: u64,
    dropped: u64,
    closed: bool,
}

/// The shared play-out clock.
#[derive(Debug)]
pub struct PlayClock {
    state: Mutex<State>,
    wake: Condvar,
}

impl PlayClock {
    /// A clock for segments of `segment` length, reloaded every `reload`.
    pub fn new(segment: Duration, target: Duration, reload: Duration) -> Self {
        Self {
            state: Mutex::new(State {
                delay: None,
                needs: VecDeque::new(),
                target,
                initial: segment + reload + MARGIN,
                jump: false,
                shown: 0,
                dropped: 0,
                closed: false,
            }),
            wake: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current delay behind capture (what "behind live" shows), once known.
    pub fn delay(&self) -> Option<Duration> {
        self.lock().delay
    }

    /// Frames shown and dropped so far.
    pub fn counts(&self) -> (u64, u64) {
        let s = self.lock();
        (s.shown, s.dropped)
    }

    /// Asks for the smallest delay recent segments allow, dropping what lies between.
    pub fn jump_to_live(&self) {
        self.lock().jump = true;
        self.wake.notify_all();
    }

    /// Wakes every waiting decoder and makes waits return at once.
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_all();
    }

    /// Records what segment with first frame captured at `capture` needed: it arrived
    /// (was ready to decode) at `arrived`.
    pub fn segment_arrived(&self, capture: Instant, arrived: Instant) {
        let need = arrived.saturating_duration_since(capture) + MARGIN;
        let mut s = self.lock();
        s.needs.push_back(need);
        while s.needs.len() > NEED_WINDOW {
            s.needs.pop_front();
        }
    }

    /// The least delay that would have kept recent segments on time.
    fn need(s: &State) -> Duration {
        s.needs.iter().copied().max().unwrap_or(s.initial)
    }

    /// Decides about a frame captured at `capture`, whose segment arrived at `arrived`,
    /// seen at `now`. `arrived` is `None` for segments that were already listed when we
    /// started (they are old by nature, so being late is no stall). `first` marks the
    /// stream's first decoded frame, always shown at once so the picture appears without
    /// waiting.
    pub fn judge(
        &self,
        capture: Instant,
        arrived: Option<Instant>,
        now: Instant,
        first: bool,
    ) -> Verdict {
        let mut s = self.lock();
        let verdict = Self::judge_locked(&mut s, capture, arrived, now, first);
        match verdict {
            Verdict::ShowAt(_) => s.shown += 1,
            Verdict::Drop => s.dropped += 1,
        }
        verdict
    }

    fn judge_locked(
        s: &mut State,
        capture: Instant,
        arrived: Option<Instant>,
        now: Instant,
        first: bool,
    ) -> Verdict {
        let need = Self::need(s);
        let delay = match s.delay {
            None => {
                s.delay = Some(s.initial);
                s.initial
            }
            Some(d) if s.jump => {
                s.jump = false;
                s.delay = Some(need.min(d));
                need.min(d)
            }
            Some(d) if d > need + s.target => {
                tracing::debug!(
                    "{:.1} s behind live, {:.1} s needed: catching up",
                    d.as_secs_f32(),
                    need.as_secs_f32()
                );
                s.delay = Some(need);
                need
            }
            Some(d) => d,
        };
        if first {
            return Verdict::ShowAt(now);
        }
        let due = capture + delay;
        if due + LATE_TOLERANCE >= now {
            return Verdict::ShowAt(due.max(now));
        }
        if arrived.is_some_and(|a| a + LATE_TOLERANCE > due) {
            // The segment itself came late: hold the picture and go on from here.
            s.delay = Some(now.saturating_duration_since(capture) + MARGIN);
            return Verdict::ShowAt(now);
        }
        Verdict::Drop
    }

    /// Decides about a piece of sound captured at `capture`, seen at `now`. Sound follows
    /// the pictures' delay and never changes it; what is too late is dropped.
    pub fn judge_sound(&self, capture: Instant, now: Instant) -> Verdict {
        let mut s = self.lock();
        let initial = s.initial;
        let delay = *s.delay.get_or_insert(initial);
        let due = capture + delay;
        if due + SOUND_TOLERANCE >= now {
            Verdict::ShowAt(due.max(now))
        } else {
            Verdict::Drop
        }
    }

    /// Sleeps until `at` (or until the clock is closed or asked to jump); false if closed.
    pub fn wait_until(&self, at: Instant) -> bool {
        let mut s = self.lock();
        loop {
            if s.closed {
                return false;
            }
            if s.jump {
                return true;
            }
            let now = Instant::now();
            if now >= at {
                return true;
            }
            s = match self.wake.wait_timeout(s, at - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_micros(41_667);

    fn clock() -> PlayClock {
        PlayClock::new(
            Duration::from_secs(2),
            Duration::from_secs(2),
            Duration::from_millis(250),
        )
    }

    #[test]
    fn the_first_frame_shows_at_once_and_the_rest_of_an_old_segment_is_skipped() {
        let c = clock();
        let t0 = Instant::now();
        // The newest segment was captured 3.5 s ago; it arrives now.
        let capture = t0;
        let now = t0 + Duration::from_millis(3_500);
        assert_eq!(c.judge(capture, None, now, true), Verdict::ShowAt(now));
        // Its next frames are older than the starting delay (2.31 s): skipped, since the
        // segment was there in time.
        assert_eq!(c.judge(capture + FRAME, None, now, false), Verdict::Drop);
        let fresh = capture + Duration::from_millis(1_300);
        match c.judge(fresh, None, now, false) {
            Verdict::ShowAt(at) => assert_eq!(at, fresh + Duration::from_millis(2_310)),
            v => panic!("{v:?}"),
        }
        assert_eq!(c.delay(), Some(Duration::from_millis(2_310)));
        assert_eq!(c.counts(), (2, 1));
    }

    #[test]
    fn a_late_segment_raises_the_delay_instead_of_skipping() {
        let c = clock();
        let t0 = Instant::now();
        c.judge(t0, None, t0, true);
        // The next segment (captured at t0+2 s) arrives 1 s after it was due.
        let capture = t0 + Duration::from_secs(2);
        let arrived = capture + Duration::from_millis(2_310) + Duration::from_secs(1);
        assert_eq!(
            c.judge(capture, Some(arrived), arrived, false),
            Verdict::ShowAt(arrived)
        );
        assert_eq!(
            c.delay(),
            Some(Duration::from_millis(3_310) + MARGIN),
            "the stall is absorbed"
        );
    }

    #[test]
    fn far_behind_catches_up_to_what_segments_need_and_jump_does_it_at_once() {
        let c = clock();
        let t0 = Instant::now();
        c.judge(t0, None, t0, true);
        // A long stall pushed the delay to 8 s.
        let cap = t0 + Duration::from_secs(10);
        let now = cap + Duration::from_secs(8);
        c.judge(cap, Some(now), now, false);
        assert!(c.delay().unwrap() >= Duration::from_secs(8));
        // Recent segments arrived 2.1 s after capture.
        for k in 0..3 {
            let cap_k = cap + Duration::from_secs(2 * k);
            c.segment_arrived(cap_k, cap_k + Duration::from_millis(2_100));
        }
        let need = Duration::from_millis(2_100) + MARGIN;
        let later = cap + Duration::from_secs(6);
        let now = later + Duration::from_secs(3);
        // The frame is late by the catch-up, its segment long there: dropped.
        assert_eq!(c.judge(later, Some(later), now, false), Verdict::Drop);
        assert_eq!(c.delay(), Some(need));
        // Jump to live when only a little behind: takes effect at the next frame.
        let c = clock();
        c.judge(t0, None, t0, true);
        c.segment_arrived(t0, t0 + Duration::from_millis(1_000));
        c.jump_to_live();
        let cap = t0 + Duration::from_millis(100);
        let v = c.judge(cap, Some(t0), t0, false);
        assert_eq!(
            v,
            Verdict::ShowAt(cap + Duration::from_millis(1_000) + MARGIN)
        );
    }

    #[test]
    fn sound_follows_the_delay_and_tolerates_a_little_lateness() {
        let c = clock();
        let t0 = Instant::now();
        c.judge(t0, None, t0, true);
        let d = c.delay().unwrap();
        let cap = t0 + Duration::from_secs(1);
        assert_eq!(c.judge_sound(cap, t0), Verdict::ShowAt(cap + d));
        // 200 ms late: played now.
        let now = cap + d + Duration::from_millis(200);
        assert_eq!(c.judge_sound(cap, now), Verdict::ShowAt(now));
        assert_eq!(
            c.judge_sound(cap, now + Duration::from_millis(200)),
            Verdict::Drop
        );
        assert_eq!(c.delay(), Some(d), "sound never moves the delay");
    }

    #[test]
    fn waiting_ends_on_close() {
        let c = std::sync::Arc::new(clock());
        let c2 = c.clone();
        let waiter = std::thread::Builder::new()
            .name("wait".into())
            .spawn(move || c2.wait_until(Instant::now() + Duration::from_secs(60)))
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        c.close();
        assert!(!waiter.join().unwrap());
    }
}
