//! Playing one recorded track forward through the live decoders.
//!
//! Every picture track kind (RFB, Chaser preview, HLS) has a [`TrackPlayer`]: the replay
//! source, `lookout snapshot FILE --at`, and `lookout export` all drive a player and read
//! its picture. A player only ever decodes forward; [`TrackPlayer::seek`] goes anywhere by
//! starting again from the nearest point the track can be decoded from (a keyframe, a
//! JPEG, the first segment at or before the moment).

use super::replay::ReplayError;
use crate::core::frame::Framebuffer;

/// One recorded picture track, played.
pub trait TrackPlayer: Send {
    /// Decodes what was recorded up to `at_us` (microseconds since the recording began).
    /// Going backwards is a [`seek`](Self::seek).
    fn advance_to(&mut self, at_us: u64) -> Result<(), ReplayError>;

    /// Shows the track as it was at `at_us`, from the nearest point before it that decoding
    /// can start from.
    fn seek(&mut self, at_us: u64) -> Result<(), ReplayError>;

    /// The picture as of the last `advance_to` or `seek`; `None` before the first picture.
    fn picture(&self) -> Option<&Framebuffer>;

    /// Whether the picture changed since this was last asked.
    fn take_changed(&mut self) -> bool;

    /// When the track's next recorded change comes after the present position, if any:
    /// how playback skips idle stretches and steps a frame.
    fn next_change_us(&mut self) -> Option<u64>;

    /// Takes in what a recording still being written gained since the player opened (or
    /// last refreshed); `index` is the file's index as it now stands.
    fn refresh(&mut self, index: &std::sync::Arc<super::index::Index>) -> Result<(), ReplayError>;
}
