//! Stream tokens, as in a `stream_url`'s `?token=`: short-lived, signed and single-use.
//!
//! A token is URL-safe base64 (no padding) of `expiry_ms u64 BE (8) | nonce (16) |
//! HMAC-SHA256(key, task_id | 0 | expiry | nonce) (32)`. The key is random per issuer, so
//! nothing outside can mint tokens; the task id is in the MAC, so a token opens one task's
//! stream only; [`TokenIssuer::redeem`] accepts each nonce once. Chaser preview tokens use
//! the same format from their own issuer, but are reusable until they expire
//! ([`TokenIssuer::verify`]). Tokens are secrets: never log them.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::clock::now_ms;

type HmacSha256 = Hmac<Sha256>;

const EXPIRY_LEN: usize = 8;
const NONCE_LEN: usize = 16;
const MAC_LEN: usize = 32;
const TOKEN_LEN: usize = EXPIRY_LEN + NONCE_LEN + MAC_LEN;
/// Longest token text we even try to decode.
const MAX_TOKEN_CHARS: usize = 128;

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature does not match (forged, or for another task)")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token was already used")]
    Reused,
}

/// Issues and redeems the tokens of one simulator.
pub(crate) struct TokenIssuer {
    key: [u8; 32],
    ttl_ms: u64,
    /// Redeemed nonces and their expiry; pruned once expired (expiry alone refuses those).
    used: Mutex<HashMap<[u8; NONCE_LEN], u64>>,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("ttl_ms", &self.ttl_ms)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    pub fn new(ttl_ms: u64) -> Self {
        Self {
            key: rand::random(),
            ttl_ms,
            used: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self, task_id: &str, expiry_and_nonce: &[u8]) -> HmacSha256 {
        // Any key length is valid for HMAC, so this cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(task_id.as_bytes());
        mac.update(&[0]);
        mac.update(expiry_and_nonce);
        mac
    }

    /// A fresh token for `task_id`, valid for the TTL from `now_ms`.
    pub fn issue_at(&self, task_id: &str, now_ms: u64) -> String {
        let mut raw = Vec::with_capacity(TOKEN_LEN);
        raw.extend_from_slice(&now_ms.saturating_add(self.ttl_ms).to_be_bytes());
        raw.extend_from_slice(&rand::random::<[u8; NONCE_LEN]>());
        let tag = self.mac(task_id, &raw).finalize().into_bytes();
        raw.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn issue(&self, task_id: &str) -> String {
        self.issue_at(task_id, now_ms())
    }

    /// A fresh token for `task_id` and its expiry (ms since the epoch).
    pub fn issue_with_expiry(&self, task_id: &str) -> (String, u64) {
        let now = now_ms();
        (self.issue_at(task_id, now), now.saturating_add(self.ttl_ms))
    }

    /// Checks `token` for `task_id` at `now_ms` without spending it; returns its expiry.
    pub fn verify_at(
        &self,
        task_id: &str,
        token: &str,
        now_ms: u64,
    ) -> Result<u64, TokenRejection> {
        self.check(task_id, token, now_ms).map(|(expiry, _)| expiry)
    }

    pub fn verify(&self, task_id: &str, token: &str) -> Result<u64, TokenRejection> {
        self.verify_at(task_id, token, now_ms())
    }

    /// Signature and expiry: the expiry and the nonce of a good token.
    fn check(
        &self,
        task_id: &str,
        token: &str,
        now_ms: u64,
    ) -> Result<(u64, [u8; NONCE_LEN]), TokenRejection> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(TokenRejection::Malformed);
        }
        let raw = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| TokenRejection::Malformed)?;
        if raw.len() != TOKEN_LEN {
            return Err(TokenRejection::Malformed);
        }
        let (signed, tag) = raw.split_at(EXPIRY_LEN + NONCE_LEN);
        self.mac(task_id, signed)
            .verify_slice(tag)
            .map_err(|_| TokenRejection::BadSignature)?;
        let mut expiry = [0u8; EXPIRY_LEN];
        expiry.copy_from_slice(&signed[..EXPIRY_LEN]);
        let expiry = u64::from_be_bytes(expiry);
        if now_ms >= expiry {
            return Err(TokenRejection::Expired);
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&signed[EXPIRY_LEN..]);
        Ok((expiry, nonce))
    }

    /// Accepts `token` for `task_id` once, at `now_ms`.
    pub fn redeem_at(&self, task_id: &str, token: &str, now_ms: u64) -> Result<(), TokenRejection> {
        let (expiry, nonce) = self.check(task_id, token, now_ms)?;
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        used.retain(|_, &mut exp| exp > now_ms);
        if used.insert(nonce, expiry).is_some() {
            return Err(TokenRejection::Reused);
        }
        Ok(())
    }

    pub fn redeem(&self, task_id: &str, token: &str) -> Result<(), TokenRejection> {
        self.redeem_at(task_id, token, now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_its_task_once() {
        let issuer = TokenIssuer::new(30_000);
        let t = issuer.issue_at("demo", 1_000);
        assert!(t.len() < 100 && !t.contains(['+', '/', '=']));
        assert_eq!(
            issuer.redeem_at("other", &t, 1_001),
            Err(TokenRejection::BadSignature)
        );
        assert_eq!(issuer.redeem_at("demo", &t, 1_001), Ok(()));
        assert_eq!(
            issuer.redeem_at("demo", &t, 1_002),
            Err(TokenRejection::Reused)
        );
    }

    #[test]
    fn expired_forged_and_garbage_tokens_are_refused() {
        let issuer = TokenIssuer::new(30_000);
        let t = issuer.issue_at("demo", 1_000);
        assert_eq!(
            issuer.redeem_at("demo", &t, 31_000),
            Err(TokenRejection::Expired)
        );
        // Another simulator's key signs differently.
        let foreign = TokenIssuer::new(30_000).issue_at("demo", 1_000);
        assert_eq!(
            issuer.redeem_at("demo", &foreign, 1_001),
            Err(TokenRejection::BadSignature)
        );
        // Moving the expiry breaks the signature.
        let mut raw = URL_SAFE_NO_PAD.decode(&t).unwrap_or_default();
        raw[0] ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(raw);
        assert_eq!(
            issuer.redeem_at("demo", &tampered, 1_001),
            Err(TokenRejection::BadSignature)
        );
        for junk in ["", "abc", "!!!!", &"A".repeat(500)] {
            assert_eq!(
                issuer.redeem_at("demo", junk, 1_001),
                Err(TokenRejection::Malformed)
            );
        }
    }

    #[test]
    fn verified_tokens_stay_usable_until_expiry() {
        let issuer = TokenIssuer::new(300);
        let t = issuer.issue_at("s#1", 1_000);
        assert_eq!(issuer.verify_at("s#1", &t, 1_001), Ok(1_300));
        assert_eq!(issuer.verify_at("s#1", &t, 1_299), Ok(1_300));
        assert_eq!(
            issuer.verify_at("s#1", &t, 1_300),
            Err(TokenRejection::Expired)
        );
        assert_eq!(
            issuer.verify_at("s#2", &t, 1_001),
            Err(TokenRejection::BadSignature)
        );
        assert_eq!(
            issuer.verify_at("s#1", "x", 1),
            Err(TokenRejection::Malformed)
        );
    }

    #[test]
    fn used_nonces_are_forgotten_after_expiry() {
        let issuer = TokenIssuer::new(10);
        for i in 0..100 {
            let t = issuer.issue_at("demo", i * 20);
            assert_eq!(issuer.redeem_at("demo", &t, i * 20 + 1), Ok(()));
        }
        assert!(issuer.used.lock().map(|u| u.len()).unwrap_or(0) <= 1);
    }
}
