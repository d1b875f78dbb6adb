//! The preview decoder's own thread (`preview-decode`). The session task hands it frames
//! through a latest-wins [`LatestSlot`], so a slow decoder skips to the newest frame
//! instead of queueing; each decoded picture goes to the session's [`FrameSlot`], and the
//! thread says what it showed ([`Decoded`]), which is what acknowledges a frame under ack
//! pacing. When the session is recorded, each frame's message is recorded here, once the
//! decoder has applied it: a frame skipped for a newer one is not recorded.

use std::sync::{Arc, Condvar, Mutex};

use tokio::sync::mpsc;

use super::record::{MessageRecorder, Raw};
use super::{FrameDecoder, PreviewFrame};
use crate::core::event::Waker;
use crate::core::frame::FrameSlot;

/// A value handed from one thread to another where only the newest matters.
pub(super) struct LatestSlot<T> {
    state: Mutex<(Option<T>, bool)>,
    ready: Condvar,
}

impl<T> LatestSlot<T> {
    pub fn new() -> Self {
        Self {
            state: Mutex::new((None, false)),
            ready: Condvar::new(),
        }
    }

    /// Replaces whatever is waiting; returns true if that dropped an older value.
    pub fn put(&self, value: T) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let replaced = s.0.replace(value).is_some();
        self.ready.notify_one();
        replaced
    }

    /// Waits for a value; `None` once closed.
    pub fn take(&self) -> Option<T> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(v) = s.0.take() {
                return Some(v);
            }
            if s.1 {
                return None;
            }
            s = self.ready.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    pub fn close(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.1 = true;
        self.ready.notify_all();
    }
}

/// What the decoder thread reports.
pub(super) enum Decoded {
    Shown { seq: Option<u64>, size: [u32; 2] },
    Bad { seq: Option<u64>, error: String },
}

/// A frame handed to the decoder, and its message as it came when it is to be recorded.
pub(super) struct Handed {
    pub frame: PreviewFrame,
    pub raw: Option<Raw>,
}

/// The decoder thread and its ends.
pub(super) struct DecoderThread {
    pub slot: Arc<LatestSlot<Handed>>,
    pub notes: mpsc::Receiver<Decoded>,
}

impl Drop for DecoderThread {
    fn drop(&mut self) {
        self.slot.close();
    }
}

pub(super) fn spawn(
    frames: Arc<FrameSlot>,
    waker: Waker,
    record: Option<MessageRecorder>,
) -> DecoderThread {
    let slot = Arc::new(LatestSlot::<Handed>::new());
    let (tx, rx) = mpsc::channel(8);
    let thread_slot = slot.clone();
    let spawned = std::thread::Builder::new()
        .name("preview-decode".into())
        .spawn(move || {
            crate::core::priority::below_the_window();
            let mut decoder = FrameDecoder::default();
            while let Some(Handed { frame, raw }) = thread_slot.take() {
                let seq = frame.seq;
                let decoded = decoder.decode(&frame);
                // What the decoder applied, stamped as it is shown.
                if let (Some(record), Some(raw)) = (&record, &raw) {
                    record.message(raw);
                }
                let note = match decoded {
                    Ok(fb) => {
                        frames.publish(fb, &[fb.full_rect()]);
                        frames.notify(&waker);
                        Decoded::Shown {
                            seq,
                            size: [fb.width(), fb.height()],
                        }
                    }
                    Err(e) => Decoded::Bad {
                        seq,
                        error: e.to_string(),
                    },
                };
                if tx.blocking_send(note).is_err() {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the preview decoder thread: {e}");
    }
    DecoderThread { slot, notes: rx }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn latest_slot_keeps_only_the_newest_and_closes() {
        let slot = Arc::new(LatestSlot::<u32>::new());
        assert!(!slot.put(1));
        assert!(slot.put(2), "1 was replaced");
        assert_eq!(slot.take(), Some(2));
        let waiter = {
            let slot = slot.clone();
            std::thread::Builder::new()
                .name("slot-waiter".into())
                .spawn(move || slot.take())
                .unwrap()
        };
        std::thread::sleep(Duration::from_millis(20));
        slot.put(3);
        assert_eq!(waiter.join().unwrap(), Some(3));
        slot.close();
        assert_eq!(slot.take(), None);
    }
}
