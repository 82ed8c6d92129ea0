//! The size limits the fronts and Lambda enforce, and a way to measure an event's JSON
//! without writing it out.

use std::io;

/// Lambda's limit on a synchronous invocation's event and response: 6 MiB.
pub const LAMBDA_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// API Gateway's limit on a request body (REST and HTTP APIs): 10 MB.
pub const API_GATEWAY_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// An ALB's limit on the body of a request to a Lambda target, and on the response JSON:
/// 1 MB (ELB guide, "Use Lambda functions as targets").
pub const ALB_LAMBDA_LIMIT: usize = 1024 * 1024;

/// The length of `value` written as compact JSON.
pub(crate) fn json_len(value: &serde_json::Value) -> usize {
    let mut counter = Counter(0);
    // Writing into a counter cannot fail, and a Value always serializes.
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}

struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_what_to_vec_writes() {
        let value = serde_json::json!({"a": "é\"\n", "b": [1, 2, null], "c": {"d": true}});
        let written = serde_json::to_vec(&value).map(|v| v.len()).unwrap_or(0);
        assert_eq!(json_len(&value), written);
    }
}
