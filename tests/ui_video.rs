//! UI tests of a video (HLS) view, headless with egui_kittest: how far behind live it is,
//! "Jump to live", and the sound controls.
#![cfg(feature = "gui")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use egui::{Key, Modifiers, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use lookout::core::audio::AudioFormat;
use lookout::core::event::{
    Command, InputAccess, LiveInfo, PictureFormat, SessionEvent, SessionState,
};
use lookout::core::frame::Framebuffer;
use lookout::core::session::{SessionHandle, SessionPeer};
use lookout::ui::audio::Speaker;
use lookout::ui::{TaskView, theme};

fn view(speaker: Arc<Speaker>, video: bool) -> (Harness<'static, TaskView>, SessionPeer) {
    let (handle, peer) = SessionHandle::pair("agentstation:ws-demo", Arc::new(|| {}));
    let mut harness = Harness::builder()
        .with_size(vec2(1000.0, 600.0))
        .with_context_setup(theme::apply)
        .build_ui_state(
            |ui, view: &mut TaskView| view.ui(ui),
            TaskView::new(handle).with_speaker(Some(speaker)),
        );
    let info = LiveInfo {
        width: 320,
        height: 180,
        desktop_name: String::new(),
        protocol: "HLS H264".into(),
        input: InputAccess::Refused("HLS video is view-only".into()),
    };
    peer.events
        .try_send(SessionEvent::State(SessionState::Live(info)))
        .unwrap();
    let fb = Framebuffer::new(320, 180).unwrap();
    peer.frames.publish(&fb, &[fb.full_rect()]);
    if video {
        peer.stats.set_picture_format(PictureFormat::H264);
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    peer.stats.set_captured_ms(now_ms - 2_400);
    harness.run();
    (harness, peer)
}

fn commands(peer: &mut SessionPeer) -> Vec<Command> {
    std::iter::from_fn(|| peer.commands.try_recv().ok()).collect()
}

fn stereo() -> AudioFormat {
    AudioFormat {
        rate: 48_000,
        channels: 2,
    }
}

#[test]
fn a_video_view_says_how_far_behind_live_it_is_and_jumps_to_live() {
    let (mut harness, mut peer) = view(Speaker::detached(stereo(), false), true);
    let behind = harness.query_all_by_label_contains("behind live").count();
    assert_eq!(behind, 1, "one 'N s behind live' label");
    assert!(
        harness
            .query_by_label_contains("2.4 s behind live")
            .is_some()
            || harness
                .query_by_label_contains("2.5 s behind live")
                .is_some()
    );
    harness.get_by_label("Jump to live").click();
    harness.run();
    assert_eq!(commands(&mut peer), [Command::JumpToLive]);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::L);
    harness.run();
    assert_eq!(commands(&mut peer), [Command::JumpToLive]);
    // Behind live counts on while no picture comes: the view asks to be redrawn.
    let delay = harness.output().viewport_output[&egui::ViewportId::ROOT].repaint_delay;
    assert!(delay.as_millis() <= 500, "{delay:?}");
    // Video is view-only.
    assert!(!harness.state().is_interactive());
}

#[test]
fn a_picture_source_has_no_jump_to_live_and_shows_the_picture_age() {
    let (harness, _peer) = view(Speaker::detached(stereo(), false), false);
    assert!(harness.query_by_label("Jump to live").is_none());
    assert!(harness.query_by_label_contains("behind live").is_none());
    assert!(harness.query_by_label_contains("s old").is_some());
}

#[test]
fn sound_can_be_muted_and_its_volume_set() {
    let speaker = Speaker::detached(stereo(), false);
    let (mut harness, _peer) = view(speaker.clone(), true);
    harness.get_by_label("Sound").click();
    harness.run();
    assert!(speaker.is_muted());
    harness.get_by_label("Muted").click();
    harness.run();
    assert!(!speaker.is_muted());
    // Muted by default (several tasks): the view shows it so.
    let muted = Speaker::detached(stereo(), true);
    let (harness, _peer) = view(muted, true);
    harness.get_by_label("Muted");
}

#[test]
fn no_sound_device_is_said_plainly_not_as_an_error() {
    let (harness, _peer) = view(Speaker::silent(), true);
    let button = harness.get_by_label("No sound");
    assert!(button.accesskit_node().is_disabled());
    assert!(harness.query_by_label_contains("rror").is_none());
}

#[test]
fn an_estimated_distance_behind_live_says_so() {
    let (mut harness, peer) = view(Speaker::detached(stereo(), false), true);
    assert!(harness.query_by_label_contains("estimated").is_none());
    // A stream without program date-times: the core marks the figure as an estimate.
    peer.stats
        .set_behind_live(std::time::Duration::from_millis(2_400), true);
    harness.run();
    harness.get_by_label_contains("behind live (estimated)");
    assert!(harness.query_by_label_contains("≈2.").is_some(), "marked ≈");
    // Skipped data on a video stream is named for what it is.
    peer.stats.add_skipped();
    harness.run();
    harness.get_by_label("1 bad packets or segments skipped");
}
