//! What the simulator's end-to-end tests share: a small desktop, a plain-HTTP client, the
//! I/O timeout, and where the `human` page's widgets are.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use super::{Desktop, Interaction, Script, SimConfig, Widget};
use crate::core::frame::Rect;

pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn small(cfg: SimConfig) -> SimConfig {
    SimConfig {
        width: 640,
        height: 480,
        ..cfg
    }
}

/// A plain-HTTP client (reqwest wants a TLS set-up even so; this one trusts nothing).
pub(crate) fn http() -> reqwest::Client {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap()
}

/// The screen box of `widget` on a 640×480 desktop that has not scrolled.
pub(crate) fn widget_box(widget: Widget) -> Rect {
    let d = Desktop::with_script(
        640,
        480,
        "x",
        0,
        Script::AwaitHuman,
        &Interaction::default(),
    )
    .unwrap();
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for y in 0..480u32 {
        for x in 0..640u32 {
            if d.widget_at(x.into(), y.into()) == Some(widget) {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    assert!(x1 >= x0, "{widget:?} is not on screen");
    Rect::new(x0, y0, x1 - x0 + 1, y1 - y0 + 1)
}

/// The centre of `r`.
pub(crate) fn centre(r: Rect) -> (u32, u32) {
    (r.x + r.w / 2, r.y + r.h / 2)
}
