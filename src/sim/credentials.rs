//! What clients present, checked: secrets compared in constant time (API keys, client
//! secrets, the VNC Authentication response), and the key of an `Authorization: Bearer`
//! header as Chaser and AgentStation read it.

use axum::http::{HeaderMap, header};

/// Compares in constant time, so the key cannot be guessed byte by byte.
pub(crate) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The bearer key of an `Authorization` header, if any.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, rest) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| rest.trim_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::source::rfb::vnc_auth_response;
    use axum::http::HeaderValue;

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
        assert!(same_secret(&a, &a));
        assert!(!same_secret(&a, &a[..15]));
    }

    #[test]
    fn matches_the_classic_vnc_des_known_answer() {
        // DES with the all-zero key (empty password) on a zero block: 8CA64DE9C1B123A7.
        let out = vnc_auth_response("", &[0u8; 16]);
        assert_eq!(out[..8], [0x8C, 0xA6, 0x4D, 0xE9, 0xC1, 0xB1, 0x23, 0xA7]);
    }

    #[test]
    fn bearer_keys_are_read_from_the_header() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer k1"));
        assert_eq!(bearer(&h), Some(&b"k1"[..]));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  k2 "),
        );
        assert_eq!(bearer(&h), Some(&b"k2"[..]));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic k1"));
        assert_eq!(bearer(&h), None);
    }
}
