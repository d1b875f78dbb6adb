//! A recorded RFB desktop for the replay tests: the server's handshake (no security,
//! 32-bit true colour) and Tight fills of the whole desktop, whose red says the moment.

/// The server's side of the handshake for a `w`×`h` desktop named "desk".
pub fn handshake(w: u16, h: u16) -> Vec<u8> {
    let mut hs = b"RFB 003.008\n".to_vec();
    hs.extend([1, 1, 0, 0, 0, 0]);
    hs.extend(w.to_be_bytes());
    hs.extend(h.to_be_bytes());
    hs.extend([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]);
    hs.extend(4u32.to_be_bytes());
    hs.extend(b"desk");
    hs
}

/// A FramebufferUpdate filling the whole `w`×`h` desktop with red `red` (Tight fill).
pub fn fill(w: u16, h: u16, red: u8) -> Vec<u8> {
    let mut msg = vec![0, 0, 0, 1];
    for v in [0, 0, w, h] {
        msg.extend(v.to_be_bytes());
    }
    msg.extend(7i32.to_be_bytes());
    msg.extend([0x80, red, 0, 0]);
    msg
}
