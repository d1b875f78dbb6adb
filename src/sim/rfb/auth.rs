//! VNC Authentication (security type 2): the server sends a random 16-byte challenge; the
//! client DES-encrypts it (two ECB blocks) with the password as key (first 8 bytes, zero
//! padded, each byte's bits reversed, as the original VNC did) and sends the 16 bytes back.

use des::Des;
use des::cipher::generic_array::GenericArray;
use des::cipher::{BlockEncrypt, KeyInit};

/// The response a client with `password` gives to `challenge`.
pub fn vnc_auth_response(password: &str, challenge: &[u8; 16]) -> [u8; 16] {
    let mut key = [0u8; 8];
    for (k, b) in key.iter_mut().zip(password.bytes()) {
        *k = b.reverse_bits();
    }
    let cipher = Des::new(GenericArray::from_slice(&key));
    let mut out = *challenge;
    for block in out.chunks_exact_mut(8) {
        cipher.encrypt_block(GenericArray::from_mut_slice(block));
    }
    out
}

/// Constant-time comparison of a client's response with the expected one.
pub fn response_matches(expected: &[u8; 16], got: &[u8]) -> bool {
    got.len() == 16
        && expected
            .iter()
            .zip(got)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_depends_on_password_and_matches_itself() {
        let challenge = [7u8; 16];
        let a = vnc_auth_response("secret", &challenge);
        assert_eq!(a, vnc_auth_response("secret", &challenge));
        // Only the first eight bytes of the password count.
        assert_eq!(
            vnc_auth_response("12345678", &challenge),
            vnc_auth_response("123456789", &challenge)
        );
        assert_ne!(a, vnc_auth_response("Secret", &challenge));
        assert!(response_matches(&a, &a));
        assert!(!response_matches(&a, &a[..15]));
    }

    #[test]
    fn matches_the_classic_vnc_des_known_answer() {
        // DES with the all-zero key (empty password) on a zero block: 8CA64DE9C1B123A7.
        let out = vnc_auth_response("", &[0u8; 16]);
        assert_eq!(out[..8], [0x8C, 0xA6, 0x4D, 0xE9, 0xC1, 0xB1, 0x23, 0xA7]);
    }
}
