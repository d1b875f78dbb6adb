//! The state overlay: a centred card over the (dimmed) picture saying why no live picture
//! is showing, from the core's [`SessionState`]. [`for_state`] is the pure wording;
//! [`overlay_ui`] draws it and reports a click on "Retry".

use egui::{Align, Align2, Area, Color32, Frame, Layout, Margin, Order, Rect, RichText, Ui};

use super::theme;
use crate::core::event::{ErrorKind, SessionState};

/// Longest untrusted text (provider status, error message) shown in the card.
const MAX_DETAIL_CHARS: usize = 300;

/// What the overlay says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverlayText {
    pub title: String,
    pub detail: Option<String>,
    /// Offer a "Retry" button.
    pub retry: bool,
    /// The colour of the state dot.
    pub accent: Color32,
}

/// The overlay for a state; `None` when the picture is live.
pub fn for_state(state: &SessionState) -> Option<OverlayText> {
    let text = |title: String, detail: Option<&str>| OverlayText {
        title,
        detail: detail.filter(|d| !d.is_empty()).map(clip),
        retry: false,
        accent: theme::state_color(state),
    };
    Some(match state {
        SessionState::Live(_) => return None,
        SessionState::Loading => text("Initializing stream…".into(), None),
        SessionState::WaitingForTask { status } => text(
            format!("Waiting for the task to start (status: {})", clip(status)),
            None,
        ),
        SessionState::Connecting { attempt } => {
            let detail = (*attempt > 1).then(|| format!("Attempt {attempt}"));
            text("Connecting…".into(), detail.as_deref())
        }
        SessionState::Reconnecting {
            attempt,
            retry_in_ms,
            error,
        } => {
            let secs = retry_in_ms.div_ceil(1000);
            let title = match error.kind {
                ErrorKind::RateLimited => {
                    format!("The provider asks to slow down — trying again in {secs} s")
                }
                _ => format!("Connection lost — reconnecting in {secs} s (attempt {attempt})"),
            };
            text(title, Some(&error.message))
        }
        SessionState::Ended { reason, .. } => text("Stream ended".into(), Some(reason)),
        SessionState::Failed { error } => OverlayText {
            // Trying the same again cannot help a missing setting or a refused key.
            retry: error.kind.retry_may_help(),
            ..text(clip(&error.message), hint(error.kind))
        },
    })
}

/// What the operator can do about a failure of this kind, when there is something.
pub fn hint(kind: ErrorKind) -> Option<&'static str> {
    match kind {
        ErrorKind::Config => Some(
            "Set it with a flag, an environment variable or the config file \
             (`lookout view --help` lists them), then start Lookout again.",
        ),
        ErrorKind::Unauthorized => Some(
            "Check the key or token Lookout uses for this provider \
             (flag, environment variable or config file).",
        ),
        ErrorKind::NotFound => Some("Check the task, session or workstation id."),
        ErrorKind::Unsupported => Some("Lookout cannot show this stream."),
        _ => None,
    }
}

/// Shortens untrusted text to a size a card can show.
fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

/// Draws the card centred on `over` and returns true when "Retry" was clicked.
pub fn overlay_ui(ui: &Ui, over: Rect, text: &OverlayText) -> bool {
    let width = (over.width() - 48.0).clamp(160.0, 460.0);
    let mut retry = false;
    Area::new(ui.scope_id().with("state_overlay"))
        .order(Order::Middle)
        .fixed_pos(over.center())
        .pivot(Align2::CENTER_CENTER)
        .constrain_to(over)
        .show(ui.ctx(), |ui| {
            Frame::new()
                .fill(theme::CARD)
                .stroke((1.0, theme::CARD_EDGE))
                .corner_radius(10)
                .inner_margin(Margin::symmetric(24, 18))
                .show(ui, |ui| {
                    ui.set_max_width(width);
                    ui.with_layout(Layout::top_down(Align::Center), |ui| {
                        let (dot, _) =
                            ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                        ui.painter().circle_filled(dot.center(), 4.0, text.accent);
                        ui.add_space(4.0);
                        ui.label(RichText::new(&text.title).size(16.0).color(theme::TEXT));
                        if let Some(detail) = &text.detail {
                            ui.add_space(2.0);
                            ui.label(RichText::new(detail).color(theme::TEXT_WEAK));
                        }
                        if text.retry {
                            ui.add_space(10.0);
                            let button =
                                egui::Button::new(RichText::new("Retry").color(Color32::WHITE))
                                    .fill(theme::ACCENT_STRONG)
                                    .min_size(egui::vec2(96.0, 28.0));
                            retry = ui.add(button).clicked();
                        }
                    });
                });
        });
    retry
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::core::event::{LiveInfo, SessionError};

    #[test]
    fn wording_per_state() {
        let title = |s: SessionState| for_state(&s).map(|o| o.title);
        assert_eq!(
            title(SessionState::Loading).as_deref(),
            Some("Initializing stream…")
        );
        assert_eq!(
            title(SessionState::WaitingForTask {
                status: "queued".into()
            })
            .as_deref(),
            Some("Waiting for the task to start (status: queued)")
        );
        assert_eq!(
            title(SessionState::Reconnecting {
                attempt: 3,
                retry_in_ms: 4_200,
                error: SessionError::new(ErrorKind::Network, true, "reset"),
            })
            .as_deref(),
            Some("Connection lost — reconnecting in 5 s (attempt 3)")
        );
        let live = SessionState::Live(LiveInfo {
            width: 1,
            height: 1,
            desktop_name: String::new(),
            protocol: "RFB 3.8".into(),
            input: Default::default(),
        });
        assert_eq!(for_state(&live), None);
    }

    #[test]
    fn only_failure_offers_retry() {
        let failed = for_state(&SessionState::Failed {
            error: SessionError::new(ErrorKind::Network, true, "Bad key"),
        })
        .unwrap();
        assert!(failed.retry);
        assert_eq!(failed.title, "Bad key");
        assert_eq!(failed.detail, None);
        let ended = for_state(&SessionState::Ended {
            reason: "done".into(),
            task_failed: false,
        })
        .unwrap();
        assert!(!ended.retry);
        assert_eq!(ended.detail.as_deref(), Some("done"));
    }

    #[test]
    fn the_kind_decides_retry_and_hint_never_the_text() {
        let failed = |kind: ErrorKind| {
            for_state(&SessionState::Failed {
                error: SessionError::new(kind, false, "Connection refused (401)"),
            })
            .unwrap()
        };
        let key = failed(ErrorKind::Unauthorized);
        assert!(!key.retry, "a refused key fails the same way again");
        assert!(key.detail.unwrap().contains("key or token"));
        let config = failed(ErrorKind::Config);
        assert!(!config.retry);
        assert!(config.detail.unwrap().contains("config file"));
        let network = failed(ErrorKind::Network);
        assert!(network.retry, "the text says 401, the kind says network");
        assert_eq!(network.detail, None);
        let limited = for_state(&SessionState::Reconnecting {
            attempt: 1,
            retry_in_ms: 30_000,
            error: SessionError::new(ErrorKind::RateLimited, true, "slow down"),
        })
        .unwrap();
        assert_eq!(
            limited.title,
            "The provider asks to slow down — trying again in 30 s"
        );
    }

    #[test]
    fn long_untrusted_text_is_clipped_on_a_char_boundary() {
        let long = "é".repeat(MAX_DETAIL_CHARS + 50);
        let o = for_state(&SessionState::Ended {
            reason: long,
            task_failed: false,
        })
        .unwrap();
        let detail = o.detail.unwrap();
        assert_eq!(detail.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(detail.ends_with('…'));
    }
}
