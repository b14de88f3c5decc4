//! The notification headers and the body signature: `X-Autoinvest-Signature:
//! sha256=<hex HMAC-SHA256 of the exact body bytes>`, keyed with the receiver's secret.

use crate::secret::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `sha256=<hex>`; present only when the receiver has a secret.
pub const SIGNATURE_HEADER: &str = "X-Autoinvest-Signature";
/// The event name, e.g. `order_placed`.
pub const EVENT_HEADER: &str = "X-Autoinvest-Event";
/// Unique per notification and receiver, the same on every retry.
pub const DELIVERY_HEADER: &str = "X-Autoinvest-Delivery";

/// The `X-Autoinvest-Signature` value for `body`.
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_rfc_4231_test_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign(&Secret::new("Jefe"), b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
