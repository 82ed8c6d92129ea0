//! The HMAC chain of Signature Version 4 and the constant-time comparison of signatures.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The only algorithm AWS accepts for this scheme.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn keyed(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = keyed(key);
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The credential scope and the values signed under it.
pub struct Scope<'a> {
    /// `YYYYMMDD`.
    pub date: &'a str,
    /// The region named in the credential.
    pub region: &'a str,
    /// The service named in the credential.
    pub service: &'a str,
}

impl Scope<'_> {
    /// `date/region/service/aws4_request`.
    pub fn render(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }
}

/// The string to sign for `canonical_request` made at `timestamp` (`YYYYMMDDTHHMMSSZ`).
pub fn string_to_sign(timestamp: &str, scope: &Scope, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{}\n{}",
        scope.render(),
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Compares `presented_hex` with the signature of `string_to_sign` under `secret`, in time
/// that does not depend on where they first differ. Hex that does not decode, or decodes to
/// the wrong length, never matches.
pub fn signature_matches(
    secret: &str,
    scope: &Scope,
    string_to_sign: &str,
    presented_hex: &str,
) -> bool {
    let Ok(presented) = hex::decode(presented_hex) else {
        return false;
    };
    let mut mac = keyed(&signing_key(secret, scope));
    mac.update(string_to_sign.as_bytes());
    mac.verify_slice(&presented).is_ok()
}

/// The signature in hex; the tests sign with it, `verify` only ever compares.
#[cfg(test)]
pub fn signature_hex(secret: &str, scope: &Scope, string_to_sign: &str) -> String {
    hex::encode(hmac(&signing_key(secret, scope), string_to_sign))
}

fn signing_key(secret: &str, scope: &Scope) -> Vec<u8> {
    let date_key = hmac(format!("AWS4{secret}").as_bytes(), scope.date);
    let region_key = hmac(&date_key, scope.region);
    let service_key = hmac(&region_key, scope.service);
    hmac(&service_key, "aws4_request")
}
