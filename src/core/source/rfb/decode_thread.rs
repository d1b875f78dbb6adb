//! The RFB client's own thread (`rfb-decode`): it reads the socket's bytes, decodes every
//! update into the session's [`FrameSlot`], and tells the session task only what it must
//! act on ([`DecoderNote`]): the stream is live (or resized), a bell, remote clipboard text.

use std::io::BufReader;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::{RfbClient, RfbError, RfbOptions, ServerEvent};
use crate::core::event::{LiveInfo, StreamStats, Waker};
use crate::core::frame::{FrameSlot, Rect};
use crate::core::net::{self, ChannelWriter};
use crate::core::record::keyframe::Keyframe;
use crate::core::record::tee::Tee;
use crate::core::record::{KeyframePolicy, TrackSink};

/// What the decoder thread tells the session task.
pub(super) enum DecoderNote {
    Live(LiveInfo),
    Bell,
    CutText(String),
    /// The server confirmed the QEMU extended key event pseudo-encoding.
    QemuKeys,
}

/// What the thread works with.
pub(super) struct DecoderParts {
    pub incoming: net::Incoming,
    pub outgoing: mpsc::Sender<net::Outgoing>,
    pub options: RfbOptions,
    pub frames: Arc<FrameSlot>,
    pub stats: Arc<StreamStats>,
    pub waker: Waker,
    pub notes: mpsc::Sender<DecoderNote>,
    /// Where the bytes the decoder consumes are recorded.
    pub record: Option<TrackSink>,
}

/// Runs the RFB client on its own named thread; the receiver resolves when it stops.
pub(super) fn spawn(parts: DecoderParts) -> oneshot::Receiver<Result<(), RfbError>> {
    let (done_tx, done_rx) = oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("rfb-decode".into())
        .spawn(move || {
            crate::core::priority::below_the_window();
            let _ = done_tx.send(decode(parts));
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the decoder thread: {e}");
    }
    done_rx
}

fn live_info(client: &RfbClient) -> LiveInfo {
    let info = client.info();
    LiveInfo {
        width: client.framebuffer().width(),
        height: client.framebuffer().height(),
        desktop_name: info.name.chars().take(256).collect(),
        protocol: format!("RFB 3.{}", info.minor_version),
        input: Default::default(),
    }
}

/// Records what the client has applied: a replay to this moment shows this picture.
fn put_consumed<R: std::io::Read>(reader: &mut BufReader<Tee<R>>) {
    let unread = reader.buffer().len();
    reader.get_mut().put_consumed(unread);
}

/// Queues a keyframe of the picture just published and the client's state.
fn put_keyframe<R>(record: &TrackSink, client: &RfbClient, frames: &FrameSlot, tee: &Tee<R>) {
    let (Some(state), Some(picture)) = (client.save_state(), frames.snapshot()) else {
        return;
    };
    record.sink.put_keyframe(
        record.track,
        Keyframe {
            wire_offset: tee.put_bytes(),
            state,
            picture,
        },
    );
}

/// The thread's body: handshake, then apply messages until the stream ends.
fn decode(parts: DecoderParts) -> Result<(), RfbError> {
    let tee = Tee::new(parts.incoming.into_reader(), parts.record.clone());
    let mut reader = std::io::BufReader::with_capacity(256 * 1024, tee);
    let mut writer = ChannelWriter::new(parts.outgoing);
    let mut client = RfbClient::connect(&mut reader, &mut writer, &parts.options)?;
    put_consumed(&mut reader);
    let mut keyframes = parts.record.as_ref().map(|record| {
        client.keep_state();
        KeyframePolicy::new(record.keyframes, Instant::now())
    });
    client.publish_to(parts.frames.clone());
    if parts
        .notes
        .blocking_send(DecoderNote::Live(live_info(&client)))
        .is_err()
    {
        return Ok(());
    }
    let mut qemu_keys_noted = false;
    loop {
        let event = client.read_message(&mut reader, &mut writer)?;
        put_consumed(&mut reader);
        match event {
            ServerEvent::Update(update) => {
                let keyframe_due = keyframes.as_mut().is_some_and(|policy| {
                    let area: u64 = update.dirty.iter().map(Rect::area).sum();
                    let fb = client.framebuffer();
                    let stream_at = reader.get_ref().put_bytes();
                    policy.after_update(area, stream_at, [fb.width(), fb.height()], Instant::now())
                });
                if let Some(cursor) = update.cursor {
                    parts.frames.set_cursor(cursor);
                }
                if let Some((x, y)) = update.pointer {
                    parts.frames.set_pointer(x, y);
                }
                parts.stats.add_update(update.rects);
                if let Some(enc) = update.last_encoding {
                    parts.stats.set_encoding(enc);
                }
                if !qemu_keys_noted && client.supports_qemu_key_events() {
                    qemu_keys_noted = true;
                    if parts.notes.blocking_send(DecoderNote::QemuKeys).is_err() {
                        return Ok(());
                    }
                }
                if update.resized
                    && parts
                        .notes
                        .blocking_send(DecoderNote::Live(live_info(&client)))
                        .is_err()
                {
                    return Ok(());
                }
                parts.frames.notify(&parts.waker);
                if keyframe_due && let Some(record) = &parts.record {
                    put_keyframe(record, &client, &parts.frames, reader.get_ref());
                }
            }
            ServerEvent::Bell => {
                let _ = parts.notes.try_send(DecoderNote::Bell);
            }
            ServerEvent::CutText(text) => {
                let _ = parts.notes.try_send(DecoderNote::CutText(text));
            }
            ServerEvent::Ignored => {}
        }
    }
}
