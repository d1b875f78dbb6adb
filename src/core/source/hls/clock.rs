//! When to show each decoded frame: the play-out clock shared by a stream's video and
//! audio decoders.
//!
//! Every frame carries its capture time (exact from the segment's
//! `EXT-X-PROGRAM-DATE-TIME`, else estimated from when the segment appeared; see
//! [`super::fetch`]). A frame is shown at `capture + delay`, and the delay is what the
//! view calls "behind live". The rules, after hls.js's latency controller:
//!
//! - **Start** at the least delay the newest segment allows: the next segment cannot
//!   have been captured before this one ended, nor be listed before it was complete, so
//!   the delay is `max(segment, age − segment) + reload + margin`, where `age` is how old
//!   the newest segment's first frame is. Frames of that segment captured before
//!   `now − delay` are skipped, so the first picture is already at the delay the view
//!   keeps (exact for a zero-latency producer; an encoder's lookahead is not visible in
//!   one playlist, so such a stream holds once, when its first new segment comes).
//! - **A late frame is shown late**, whatever made it late (a segment that came late, or
//!   a decoder slower than real time for a while): the delay rises to the frame's age,
//!   so the picture keeps moving at the pace the decoder can sustain instead of freezing
//!   on one frame.
//! - **Catch up** smoothly: once recent segments show the delay to be more than
//!   [`CATCH_UP_BAND`] above what they needed, each shown frame brings it down as if the
//!   stream played at up to [`MAX_CATCH_UP_RATE`] times real time (hls.js's curve:
//!   `2 / (1 + e^(−0.75 × excess))`).
//! - **Skip** only when far behind (more than [`JUMP_TARGETS`] target durations past the
//!   need) or when asked ("Jump to live"): the delay drops to the need and the frames in
//!   between are dropped.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Headroom added to a measured need, so jitter does not stall.
pub const MARGIN: Duration = Duration::from_millis(60);
/// A frame at most this late is shown as on time, without moving the delay.
pub const LATE_TOLERANCE: Duration = Duration::from_millis(60);
/// Sound this late is still played (a little late) rather than cut: in a stream with
/// both, sound is demuxed next to pictures the decoder holds for a frame or two.
pub const SOUND_TOLERANCE: Duration = Duration::from_millis(300);
/// The delay is brought down once it exceeds the need by more than this.
pub const CATCH_UP_BAND: Duration = Duration::from_millis(50);
/// The fastest the picture plays while catching up.
pub const MAX_CATCH_UP_RATE: f64 = 1.5;
/// Past the need by more than this many target durations, the clock skips ahead.
pub const JUMP_TARGETS: u32 = 3;
/// How many recent segments' needs the catch-up rule looks at.
const NEED_WINDOW: usize = 3;
/// After a skip, late frames this far (in capture time) past the skip point are dropped
/// too while the decoder is catching up with them.
const SKIP_HORIZON: Duration = Duration::from_secs(1);

/// A skip under way: the decoder is working through frames it will not show.
#[derive(Debug)]
struct Skip {
    /// Frames captured before this are dropped.
    before: Instant,
    /// Late frames captured before this are dropped while each is less late than the
    /// one before (the decoder is gaining on them).
    until: Instant,
    last_late: Duration,
}

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
    /// `show = capture + delay`; `None` until the first frame or sound.
    delay: Option<Duration>,
    /// What recent segments needed (arrival − capture of their first frame, + margin).
    needs: VecDeque<Duration>,
    /// The newest segment's duration when the stream was opened.
    segment: Duration,
    /// The playlist's target duration.
    target: Duration,
    /// How often the playlist is reloaded while a segment is due.
    reload: Duration,
    /// Frames and sound captured before this are dropped (the start, a skip).
    skip_before: Option<Instant>,
    /// A skip whose first picture has not been shown yet.
    skipping: Option<Skip>,
    /// The capture time of the last picture judged, for the catch-up pace.
    last_capture: Option<Instant>,
    /// Set by "Jump to live"; applied at the next picture.
    jump: bool,
    /// Pictures shown, dropped, and shown late (each moved the delay up).
    shown: u64,
    dropped: u64,
    late: u64,
    closed: bool,
}

impl State {
    /// The least delay that could keep recent segments on time, once one was measured.
    fn need(&self) -> Option<Duration> {
        self.needs.iter().copied().max()
    }

    /// The need, or before any was measured the least a live stream can need: one
    /// segment (it is listed once complete), a reload and the margin.
    fn need_or_floor(&self) -> Duration {
        self.need().unwrap_or(self.segment + self.reload + MARGIN)
    }

    /// Sets the delay at the first frame or sound, captured at `capture` (the newest
    /// segment's start), seen at `now`.
    fn start(&mut self, capture: Instant, now: Instant) -> Duration {
        let age = now.saturating_duration_since(capture);
        let delay = age.saturating_sub(self.segment).max(self.segment) + self.reload + MARGIN;
        self.skip_to(delay, now);
        delay
    }

    /// Moves the delay to `delay` now, dropping what is older. Skipping costs decoding
    /// time (frames are decoded to be dropped), so late frames just past the skip point
    /// are dropped too while the decoder gains on them.
    fn skip_to(&mut self, delay: Duration, now: Instant) {
        self.delay = Some(delay);
        let before = now.checked_sub(delay);
        self.skip_before = self.skip_before.max(before);
        self.skipping = self.skip_before.map(|before| Skip {
            before,
            until: before + SKIP_HORIZON,
            last_late: Duration::MAX,
        });
    }

    /// Applies a requested jump, skips when far behind, or brings the delay down a step
    /// for a picture captured at `capture`; the delay to judge it by.
    fn adjust(&mut self, delay: Duration, capture: Instant, now: Instant) -> Duration {
        let last = self.last_capture.replace(capture);
        if std::mem::take(&mut self.jump) {
            let to = self.need_or_floor().min(delay);
            self.skip_to(to, now);
            return to;
        }
        let Some(need) = self.need() else {
            return delay;
        };
        let excess = delay.saturating_sub(need);
        if excess > self.target * JUMP_TARGETS {
            tracing::debug!(
                "{:.1} s behind live, {:.1} s needed: skipping ahead",
                delay.as_secs_f32(),
                need.as_secs_f32()
            );
            self.skip_to(need, now);
            return need;
        }
        if excess <= CATCH_UP_BAND {
            return delay;
        }
        let played = last.map_or(Duration::ZERO, |l| capture.saturating_duration_since(l));
        let rate = catch_up_rate(excess);
        let cut = played.mul_f64(1.0 - 1.0 / rate).min(excess);
        let delay = delay - cut;
        self.delay = Some(delay);
        delay
    }

    fn judge(&mut self, capture: Instant, now: Instant) -> Verdict {
        let delay = match self.delay {
            None => self.start(capture, now),
            Some(d) => self.adjust(d, capture, now),
        };
        if self.skip_before.is_some_and(|before| capture < before) {
            return Verdict::Drop;
        }
        let due = capture + delay;
        if due + LATE_TOLERANCE >= now {
            self.skipping = None;
            // The first picture shows at once, even a little early: the delay holds it.
            return Verdict::ShowAt(if self.shown == 0 { now } else { due.max(now) });
        }
        let late = now - due;
        if let Some(skip) = &mut self.skipping
            && capture >= skip.before
            && capture < skip.until
            && late < skip.last_late
        {
            skip.last_late = late;
            return Verdict::Drop;
        }
        self.skipping = None;
        // Late: show it now and keep going from here.
        let raised = now.saturating_duration_since(capture);
        if let Some(need) = self.need()
            && raised.saturating_sub(need) > self.target * JUMP_TARGETS
        {
            self.skip_to(need, now);
            return Verdict::Drop;
        }
        self.delay = Some(raised);
        self.late += 1;
        Verdict::ShowAt(now)
    }
}

/// How fast to play while `excess` behind the need (hls.js's latency controller curve,
/// capped at [`MAX_CATCH_UP_RATE`]).
fn catch_up_rate(excess: Duration) -> f64 {
    let rate = 2.0 / (1.0 + (-0.75 * excess.as_secs_f64()).exp());
    rate.clamp(1.0, MAX_CATCH_UP_RATE)
}

/// The shared play-out clock.
#[derive(Debug)]
pub struct PlayClock {
    state: Mutex<State>,
    wake: Condvar,
}

impl PlayClock {
    /// A clock for a stream whose newest segment lasts `segment`, whose playlist has
    /// target duration `target` and is reloaded every `reload` while a segment is due.
    pub fn new(segment: Duration, target: Duration, reload: Duration) -> Self {
        Self {
            state: Mutex::new(State {
                delay: None,
                needs: VecDeque::new(),
                segment,
                target,
                reload,
                skip_before: None,
                skipping: None,
                last_capture: None,
                jump: false,
                shown: 0,
                dropped: 0,
                late: 0,
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

    /// Pictures shown and dropped so far.
    pub fn counts(&self) -> (u64, u64) {
        let s = self.lock();
        (s.shown, s.dropped)
    }

    /// Pictures that were shown late (each raised the delay).
    pub fn late(&self) -> u64 {
        self.lock().late
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

    /// Records what a segment whose first frame was captured at `capture` needed: it
    /// arrived (was ready to decode) at `arrived`.
    pub fn segment_arrived(&self, capture: Instant, arrived: Instant) {
        let need = arrived.saturating_duration_since(capture) + MARGIN;
        let mut s = self.lock();
        s.needs.push_back(need);
        while s.needs.len() > NEED_WINDOW {
            s.needs.pop_front();
        }
    }

    /// Decides about a picture captured at `capture`, decoded at `now`.
    pub fn judge(&self, capture: Instant, now: Instant) -> Verdict {
        let mut s = self.lock();
        let verdict = s.judge(capture, now);
        match verdict {
            Verdict::ShowAt(_) => s.shown += 1,
            Verdict::Drop => s.dropped += 1,
        }
        verdict
    }

    /// Decides about a piece of sound captured at `capture`, seen at `now`. Sound follows
    /// the pictures' delay and never moves it (it may start it); what is too late is
    /// dropped.
    pub fn judge_sound(&self, capture: Instant, now: Instant) -> Verdict {
        let mut s = self.lock();
        let delay = match s.delay {
            Some(d) => d,
            None => s.start(capture, now),
        };
        if s.skip_before.is_some_and(|before| capture < before) {
            return Verdict::Drop;
        }
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

    /// One frame at 24 fps, and a 2 s segment of them.
    const FRAME: Duration = Duration::from_micros(41_667);
    const PER_SEGMENT: u64 = 48;
    const SEGMENT: Duration = Duration::from_secs(2);
    const RELOAD: Duration = Duration::from_millis(125);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn clock() -> PlayClock {
        PlayClock::new(SEGMENT, SEGMENT, RELOAD)
    }

    /// A live stream and its decoder, in made-up time: frame `i` is captured at
    /// `t0 + i × FRAME`; segment `newest` is the newest listed when the view opens at
    /// `open`, each later segment `k` is ready `arrival(k)` after its first frame was
    /// captured, and decoding frame `i` takes `cost(i)`.
    struct Stream {
        t0: Instant,
        newest: u64,
        open: Instant,
        arrival: fn(u64) -> Duration,
        cost: fn(u64) -> Duration,
    }

    /// What the view showed: (when, captured when) of each picture, and how many it
    /// dropped.
    #[derive(Debug, Default)]
    struct Played {
        shown: Vec<(Instant, Instant)>,
        dropped: u64,
    }

    impl Played {
        fn delays(&self) -> Vec<Duration> {
            self.shown.iter().map(|(at, cap)| *at - *cap).collect()
        }

        /// The longest time one picture stayed on screen, after the first (which may be
        /// shown a little early, and held).
        fn longest_hold(&self) -> Duration {
            self.shown[1..]
                .windows(2)
                .map(|w| w[1].0 - w[0].0)
                .max()
                .unwrap_or_default()
        }

        /// The delay of the picture on screen `after` the first one appeared.
        fn delay_after(&self, after: Duration) -> Duration {
            let at = self.shown[0].0 + after;
            let (shown, cap) = self.shown.iter().rev().find(|(t, _)| *t <= at).unwrap();
            *shown - *cap
        }
    }

    /// A stream opened just as its first segment was listed (a fresh one, 2.11 s old).
    fn fresh(t0: Instant, arrival: fn(u64) -> Duration, cost: fn(u64) -> Duration) -> Stream {
        Stream {
            t0,
            newest: 0,
            open: t0 + ms(2_110),
            arrival,
            cost,
        }
    }

    /// Plays `segments` segments from the newest as the decoder thread does: it waits for
    /// a segment to arrive, decodes each frame, asks the clock and sleeps until the
    /// picture's time.
    fn play(clock: &PlayClock, s: &Stream, segments: u64) -> Played {
        let mut t = s.open;
        let mut played = Played::default();
        let frame_at = |i: u64| s.t0 + FRAME * u32::try_from(i).unwrap();
        for i in s.newest * PER_SEGMENT..(s.newest + segments) * PER_SEGMENT {
            let seg = i / PER_SEGMENT;
            if i % PER_SEGMENT == 0 && seg > s.newest {
                let captured = frame_at(i);
                let arrived = captured + (s.arrival)(seg);
                t = t.max(arrived);
                clock.segment_arrived(captured, arrived);
            }
            t += (s.cost)(i);
            match clock.judge(frame_at(i), t) {
                Verdict::ShowAt(at) => {
                    t = t.max(at);
                    played.shown.push((t, frame_at(i)));
                }
                Verdict::Drop => played.dropped += 1,
            }
        }
        played
    }

    /// A zero-latency producer: a segment is listed 50 ms after its last frame, and we
    /// see it 60 ms later (on average half a reload).
    fn on_time(_: u64) -> Duration {
        ms(2_110)
    }

    fn fast(_: u64) -> Duration {
        ms(3)
    }

    /// The start delay for a stream whose segments need `on_time`.
    const START: Duration = Duration::from_millis(2_185);
    const NEED: Duration = Duration::from_millis(2_170);

    #[test]
    fn the_view_starts_at_the_delay_it_keeps() {
        let c = clock();
        let t0 = Instant::now();
        // The newest segment appeared 1.5 s ago: its first frame is 3.5 s old.
        let s = Stream {
            t0,
            newest: 5,
            open: t0 + FRAME * 240 + ms(3_500),
            arrival: on_time,
            cost: fast,
        };
        let played = play(&c, &s, 8);
        let first = played.delays()[0];
        assert!(
            first >= START && first <= START + LATE_TOLERANCE,
            "the first picture is {first:?} behind, not {START:?}"
        );
        // Only the part of the newest segment older than that was skipped (32 frames),
        // and the few decoded late while skipping.
        assert!((32..36).contains(&played.dropped), "{}", played.dropped);
        let later = played.delay_after(Duration::from_secs(10));
        assert!(
            later.abs_diff(first) < ms(500),
            "{first:?} behind at the first picture, {later:?} 10 s later"
        );
        assert!(
            played.longest_hold() < ms(100),
            "{:?}",
            played.longest_hold()
        );

        // A fresh segment (50 ms old): its first picture shows at once and holds until
        // the start delay.
        let c = clock();
        let s = Stream {
            open: t0 + FRAME * 240 + ms(2_050),
            ..s
        };
        let played = play(&c, &s, 4);
        assert_eq!(played.shown[0], (s.open + ms(3), t0 + FRAME * 240));
        assert_eq!(played.dropped, 0);
        assert!(played.delay_after(ms(500)).abs_diff(START) < ms(10));
    }

    #[test]
    fn a_lookahead_producer_holds_once_at_its_first_new_segment_and_never_skips() {
        // Segments listed 3.5 s after their first frame (1.5 s of encoder delay), the
        // newest 1.5 s ago: only one playlist, so the start cannot know the encoder's part.
        let c = clock();
        let t0 = Instant::now();
        let s = Stream {
            t0,
            newest: 5,
            open: t0 + FRAME * 240 + ms(5_000),
            arrival: |_| ms(3_560),
            cost: fast,
        };
        let played = play(&c, &s, 8);
        let delays = played.delays();
        assert!(
            delays[0] >= ms(3_185) && delays[0] <= ms(3_185) + LATE_TOLERANCE,
            "{:?}",
            delays[0]
        );
        assert!(
            played.longest_hold() < ms(600),
            "{:?}",
            played.longest_hold()
        );
        let last = *delays.last().unwrap();
        assert!(last.abs_diff(ms(3_620)) < ms(60), "settled at {last:?}");
    }

    #[test]
    fn a_starved_decoder_shows_late_pictures_then_catches_up() {
        let c = clock();
        let t0 = Instant::now();
        // From segment 2 to 5 (8 s of video) decoding takes 60 ms a frame: 16.7 of the
        // stream's 24 pictures a second.
        let s = fresh(t0, on_time, |i| {
            if (96..288).contains(&i) {
                ms(60)
            } else {
                ms(3)
            }
        });
        let played = play(&c, &s, 20);
        assert_eq!(played.dropped, 0, "every picture is shown");
        assert!(
            played.longest_hold() <= ms(60),
            "the picture stood still for {:?}",
            played.longest_hold()
        );
        let delays = played.delays();
        let worst = delays.iter().max().unwrap();
        // 192 frames, each 18 ms slower than real time: 3.5 s later.
        assert!(*worst > START + ms(3_000), "{worst:?}");
        let end = *delays.last().unwrap();
        assert!(
            end <= NEED + CATCH_UP_BAND + ms(10),
            "{end:?} behind at the end, {NEED:?} needed"
        );
        // Catching up plays at most 1.5 times real time.
        for w in played.shown.windows(2) {
            let (shown, captured) = (w[1].0 - w[0].0, w[1].1 - w[0].1);
            assert!(shown.as_secs_f64() * MAX_CATCH_UP_RATE >= captured.as_secs_f64() * 0.999);
        }
        assert!(c.late() > 0);
    }

    #[test]
    fn a_late_segment_holds_the_picture_then_it_catches_up_without_skipping() {
        let c = clock();
        let t0 = Instant::now();
        let s = fresh(t0, |k| if k == 3 { ms(3_110) } else { ms(2_110) }, fast);
        let played = play(&c, &s, 16);
        assert_eq!(played.dropped, 0);
        let hold = played.longest_hold();
        assert!(hold.abs_diff(ms(1_000)) < ms(100), "held {hold:?}");
        let end = *played.delays().last().unwrap();
        assert!(
            end <= NEED + CATCH_UP_BAND + ms(10),
            "{end:?} behind at the end"
        );
    }

    #[test]
    fn far_behind_skips_to_what_segments_need_and_jump_does_it_at_once() {
        // A 7 s stall: the picture holds, goes on 7 s later, and once three segments
        // have come on time again the clock skips back to what they need.
        let c = clock();
        let t0 = Instant::now();
        let s = fresh(t0, |k| if k == 2 { ms(9_110) } else { ms(2_110) }, fast);
        let played = play(&c, &s, 10);
        assert!(played.dropped > 48, "{} dropped", played.dropped);
        let end = *played.delays().last().unwrap();
        assert!(end <= NEED + CATCH_UP_BAND, "{end:?}");

        // Jump to live while 1 s behind what segments need: at the next picture.
        let c = clock();
        let now = t0 + ms(2_110);
        assert!(matches!(c.judge(t0, now), Verdict::ShowAt(_)));
        c.segment_arrived(t0, t0 + ms(1_000));
        c.jump_to_live();
        let cap = t0 + ms(100);
        assert_eq!(c.judge(cap, now), Verdict::Drop, "older than the new delay");
        let cap = now - ms(1_000);
        assert_eq!(c.judge(cap, now), Verdict::ShowAt(cap + ms(1_060)));
        assert_eq!(c.delay(), Some(ms(1_060)));
    }

    #[test]
    fn sound_follows_the_delay_and_tolerates_a_little_lateness() {
        let c = clock();
        let t0 = Instant::now();
        // Sound may start the clock: by the same rule as pictures.
        let now = t0 + ms(2_100);
        assert_eq!(c.judge_sound(t0, now), Verdict::ShowAt(t0 + START));
        let d = c.delay().unwrap();
        assert_eq!(d, START);
        let cap = t0 + Duration::from_secs(1);
        // 200 ms late: played now.
        let now = cap + d + ms(200);
        assert_eq!(c.judge_sound(cap, now), Verdict::ShowAt(now));
        assert_eq!(c.judge_sound(cap, now + ms(200)), Verdict::Drop);
        assert_eq!(c.delay(), Some(d), "sound never moves the delay");
        // What the start skipped is skipped for sound too.
        let c = clock();
        let now = t0 + ms(3_500);
        assert_eq!(c.judge(t0, now), Verdict::Drop);
        assert_eq!(c.judge_sound(t0 + ms(100), now), Verdict::Drop);
        assert!(matches!(
            c.judge_sound(t0 + ms(1_400), now),
            Verdict::ShowAt(_)
        ));
    }

    #[test]
    fn waiting_ends_on_close() {
        let c = std::sync::Arc::new(clock());
        let c2 = c.clone();
        let waiter = std::thread::Builder::new()
            .name("wait".into())
            .spawn(move || c2.wait_until(Instant::now() + Duration::from_secs(60)))
            .unwrap();
        std::thread::sleep(ms(20));
        c.close();
        assert!(!waiter.join().unwrap());
    }
}
