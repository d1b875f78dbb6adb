//! The timing of the real runner's socket handler (waldiez-runner 0.7.1,
//! `routes/ws/listeners.py`), which is why it echoes a socket answer about 5 s late.
//!
//! Each socket has one Redis connection, shared by two loops. The output loop reads the
//! task's stream with `XREAD BLOCK 5000`: the read returns at once when the task stores a
//! message, else after 5 s empty, and then the loop sleeps 0.5 s before reading again. The
//! input loop publishes each answer the client sends on the same connection, so the answer
//! waits while a read blocks: it reaches the task when the read returns (a message was
//! stored, or 5 s passed), or at once during the sleep. The task waits for the answer and
//! stores nothing meanwhile, so a socket answer is usually taken (and echoed) when the
//! current 5 s read ends. During the sleep, what the task stores waits for the next read.
//!
//! [`ReadLoop`] is that state machine without a clock: the socket task feeds it the time.
//! A block of zero turns it off (answers and messages pass at once). REST answers do not
//! go through it: the runner's REST route publishes on its own connection (echoed in
//! ~20 ms).

use std::time::Duration;

use tokio::time::Instant;

/// What the output loop does now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Blocked reading the stream until this instant (or a message).
    Reading(Instant),
    /// Sleeping after an empty read until this instant.
    Sleeping(Instant),
}

/// One socket's output loop.
#[derive(Debug)]
pub(crate) struct ReadLoop {
    block: Duration,
    pause: Duration,
    phase: Phase,
}

impl ReadLoop {
    /// A loop that starts reading at `now`, blocking up to `block` and sleeping a tenth of
    /// it after an empty read (the runner's 5 s and 0.5 s).
    pub fn new(block: Duration, now: Instant) -> Self {
        ReadLoop {
            block,
            pause: block / 10,
            phase: Phase::Reading(now + block),
        }
    }

    fn off(&self) -> bool {
        self.block.is_zero()
    }

    /// Moves the loop on to `now`; true when a read just returned empty (an answer held
    /// until then goes now).
    pub fn advance(&mut self, now: Instant) -> bool {
        if self.off() {
            return false;
        }
        let mut returned = false;
        loop {
            match self.phase {
                Phase::Reading(until) if until <= now => {
                    returned = true;
                    self.phase = Phase::Sleeping(until + self.pause);
                }
                Phase::Sleeping(until) if until <= now => {
                    self.phase = Phase::Reading(until + self.block);
                }
                _ => return returned,
            }
        }
    }

    /// When the loop changes phase next (`None` when it is off).
    pub fn next_change(&self) -> Option<Instant> {
        match self.phase {
            _ if self.off() => None,
            Phase::Reading(until) | Phase::Sleeping(until) => Some(until),
        }
    }

    /// Whether an answer the client sends now reaches the task at once (the loop sleeps);
    /// else it waits for the read to return.
    pub fn answers_pass(&self) -> bool {
        self.off() || matches!(self.phase, Phase::Sleeping(_))
    }

    /// Whether a message the task stores now reaches the client at once (a read is
    /// blocked, and returns with it); else it waits for the sleep to end.
    pub fn messages_pass(&self) -> bool {
        self.off() || matches!(self.phase, Phase::Reading(_))
    }

    /// A read returned with a message at `now`: an answer held goes now, and the next read
    /// starts.
    pub fn message_read(&mut self, now: Instant) {
        self.phase = Phase::Reading(now + self.block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn a_quiet_task_holds_socket_answers_until_the_read_times_out() {
        let t0 = Instant::now();
        let mut l = ReadLoop::new(5 * S, t0);
        assert!(!l.answers_pass() && l.messages_pass());
        assert_eq!(l.next_change(), Some(t0 + 5 * S));
        assert!(!l.advance(t0 + 4 * S), "still reading");
        assert!(l.advance(t0 + 5 * S), "the read returned empty");
        // Sleeping: answers go at once, what the task stores waits.
        assert!(l.answers_pass() && !l.messages_pass());
        assert_eq!(l.next_change(), Some(t0 + 5 * S + S / 2));
        assert!(!l.advance(t0 + 5 * S + S / 2));
        assert!(!l.answers_pass() && l.messages_pass());
        assert_eq!(l.next_change(), Some(t0 + 10 * S + S / 2));
    }

    #[test]
    fn a_stored_message_ends_the_read_at_once() {
        let t0 = Instant::now();
        let mut l = ReadLoop::new(5 * S, t0);
        l.message_read(t0 + 2 * S);
        assert_eq!(l.next_change(), Some(t0 + 7 * S));
        // A long silence: several cycles pass in one step.
        assert!(l.advance(t0 + 30 * S));
        assert_eq!(
            l.next_change().map(|t| t > t0 + 30 * S),
            Some(true),
            "caught up"
        );
    }

    #[test]
    fn a_zero_block_passes_everything() {
        let t0 = Instant::now();
        let mut l = ReadLoop::new(Duration::ZERO, t0);
        assert!(l.answers_pass() && l.messages_pass());
        assert_eq!(l.next_change(), None);
        assert!(!l.advance(t0 + S));
    }
}
