//! The RFB handshake (`RfbClient::connect`): version, security (None, VNC
//! Authentication, refusals), SecurityResult and ServerInit, from a server's bytes.
//!
//! Input: one byte of options (bit 0: a VNC password is set; bit 1: shared), then what the
//! server sends. Besides never panicking: a password never appears in what the client
//! writes or in an error's message, and an accepted desktop is inside the framebuffer's
//! bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout::core::frame::MAX_DIMENSION;
use lookout::core::redact::Secret;
use lookout::core::source::rfb::{RfbClient, RfbOptions};

const PASSWORD: &str = "fuzz-pw!";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut server)) = data.split_first() else {
        return;
    };
    let opts = RfbOptions {
        password: (flags & 1 != 0).then(|| Secret::new(PASSWORD)),
        shared: flags & 2 != 0,
        ..RfbOptions::default()
    };
    let mut written = Vec::new();
    let result = RfbClient::connect(&mut server, &mut written, &opts);
    assert!(
        !written
            .windows(PASSWORD.len())
            .any(|w| w == PASSWORD.as_bytes()),
        "the password was written in clear"
    );
    match result {
        Ok(client) => {
            let info = client.info();
            assert!((1..=MAX_DIMENSION).contains(&info.width));
            assert!((1..=MAX_DIMENSION).contains(&info.height));
            assert!(matches!(info.minor_version, 3 | 7 | 8));
            let fb = client.framebuffer();
            assert_eq!((fb.width(), fb.height()), (info.width, info.height));
        }
        Err(e) => assert!(!e.to_string().contains(PASSWORD), "{e}"),
    }
});
