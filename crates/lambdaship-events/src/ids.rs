//! Ids in the forms the fronts use: UUID request ids (REST, Function URLs), the short
//! base64 ids of HTTP APIs (`LV7fzho-PHcEJPw=`), X-Ray trace headers and REST resource ids.

use std::time::SystemTime;

use base64::Engine as _;

use crate::time::epoch_seconds;

/// A random UUID in its hyphenated form.
pub(crate) fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A short id like HTTP API's `requestId` and REST's `extendedRequestId`: 11 random bytes
/// in URL-safe base64 with padding, 16 characters ending in `=` (as in `ATfSmjLgPHcESJw=`).
pub(crate) fn short_id() -> String {
    let random = uuid::Uuid::new_v4().into_bytes();
    base64::engine::general_purpose::URL_SAFE.encode(&random[..11])
}

/// An `X-Amzn-Trace-Id` value: `Root=1-{epoch seconds, 8 hex}-{24 random hex}`.
pub(crate) fn trace_id(time: SystemTime) -> String {
    let random = uuid::Uuid::new_v4().into_bytes();
    let hex: String = random[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("Root=1-{:08x}-{hex}", epoch_seconds(time))
}

/// A REST resource id: 6 characters of `[a-z0-9]`, stable for one API and resource path
/// (API Gateway assigns one per resource, so it does not change between requests).
pub(crate) fn resource_id(api_id: &str, resource_path: &str) -> String {
    // FNV-1a: any stable spread of the input will do, it only has to look like an id.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in api_id.bytes().chain([0]).chain(resource_path.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..6)
        .map(|_| {
            let index = (hash % 36) as usize;
            hash /= 36;
            char::from(ALPHABET[index])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn short_ids_have_the_http_api_shape() {
        let a = short_id();
        let b = short_id();
        assert_eq!(a.len(), 16);
        assert!(a.ends_with('='));
        assert!(
            a[..15]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(a, b);
    }

    #[test]
    fn trace_ids_carry_the_time() {
        let t = UNIX_EPOCH + Duration::from_secs(0x5e66_d96f);
        let id = trace_id(t);
        assert!(id.starts_with("Root=1-5e66d96f-"), "{id}");
        assert_eq!(id.len(), "Root=1-".len() + 8 + 1 + 24);
    }

    #[test]
    fn resource_ids_are_stable_per_path() {
        assert_eq!(
            resource_id("abc", "/{proxy+}"),
            resource_id("abc", "/{proxy+}")
        );
        assert_ne!(resource_id("abc", "/{proxy+}"), resource_id("abc", "/"));
        assert_eq!(resource_id("abc", "/").len(), 6);
    }

    #[test]
    fn uuids_are_hyphenated() {
        let id = uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
    }
}
