//! Verifies AWS Signature Version 4 on incoming requests, the way a Lambda Function URL with
//! AuthType `AWS_IAM` does, and words each refusal as AWS does.
//!
//! Both forms are accepted: the `Authorization: AWS4-HMAC-SHA256 Credential=…,
//! SignedHeaders=…, Signature=…` header (with `X-Amz-Date` or `Date`), and the presigned query
//! string (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
//! `X-Amz-SignedHeaders`, `X-Amz-Signature`). Session tokens (`X-Amz-Security-Token`) are
//! accepted when the signature covers them; they are not validated.
//!
//! The `aws-sigv4` crate is not used: it signs a request over the header set it chooses, and
//! has no way to recompute a signature over the `SignedHeaders` list a client chose, which is
//! what verifying needs.

mod canonical;
mod clock;
mod presented;
mod refusal;
mod signing;

use std::time::SystemTime;

use canonical::{CanonicalRequest, canonical_headers, canonical_query, canonical_uri, query_pairs};
use presented::{Form, Presented, header, presented};
pub use refusal::{Refusal, SIGNATURE_MISMATCH_MESSAGE, UNKNOWN_KEY_MESSAGE};
use signing::{ALGORITHM, Scope, sha256_hex, signature_matches, string_to_sign};

/// The service an `Authorization` header's credential scope names
/// (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`), without checking the signature: a
/// server answering several services reads which one the caller meant.
pub fn credential_service(authorization: &str) -> Option<&str> {
    let credential = authorization
        .split([',', ' '])
        .find_map(|part| part.trim().strip_prefix("Credential="))?;
    credential.split('/').nth(3)
}

/// How far the request time may be from now, either way, in seconds.
const ALLOWED_SKEW: i64 = 15 * 60;

/// The longest `X-Amz-Expires` accepted: seven days.
const MAX_EXPIRES: i64 = 7 * 24 * 60 * 60;

/// The payload hash a client sends in `X-Amz-Content-Sha256` when it did not hash the body.
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// A request as it arrived, before any decoding.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// The method, e.g. `GET`.
    pub method: &'a str,
    /// The path as received, still percent-encoded, without the query.
    pub path: &'a str,
    /// The query string as received, without the `?`.
    pub query: Option<&'a str>,
    /// Every header pair as received: names in any case, repeated names allowed.
    pub headers: &'a [(String, String)],
    /// The whole body.
    pub body: &'a [u8],
}

/// A known access key and its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id, e.g. `AKIDEXAMPLE`.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

/// Who signed an accepted request, and for which scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The access key id from the credential scope.
    pub access_key_id: String,
    /// The region from the credential scope.
    pub region: String,
    /// The service from the credential scope.
    pub service: String,
    /// The session token the signature covered, if any (not validated).
    pub security_token: Option<String>,
}

/// Verifies `request` for `service` (e.g. `lambda`) at time `now`, accepting any well-formed
/// region in the credential scope; `lookup` returns the credentials of an access key id.
pub fn verify(
    request: &SignedRequest,
    service: &str,
    now: SystemTime,
    lookup: impl Fn(&str) -> Option<Credentials>,
) -> Result<Verified, Refusal> {
    verify_scoped(request, service, None, now, &lookup)
}

/// As [`verify`], and the credential scope must also name `region`.
pub fn verify_in_region(
    request: &SignedRequest,
    service: &str,
    region: &str,
    now: SystemTime,
    lookup: impl Fn(&str) -> Option<Credentials>,
) -> Result<Verified, Refusal> {
    verify_scoped(request, service, Some(region), now, &lookup)
}

/// The checks run in the order AWS runs them, so a request with several faults is refused
/// for the one AWS would name: parameters, date format, clock skew, host signed, algorithm,
/// credential shape, scope, access key, payload hash, signature.
fn verify_scoped(
    request: &SignedRequest,
    service: &str,
    region: Option<&str>,
    now: SystemTime,
    lookup: &dyn Fn(&str) -> Option<Credentials>,
) -> Result<Verified, Refusal> {
    let pairs = request.query.map(query_pairs).unwrap_or_default();
    let presented = presented(request.headers, &pairs)?;

    let parsed = if presented.date_is_http {
        clock::parse_http_date(&presented.date)
    } else {
        clock::parse_basic(&presented.date)
    };
    let Some(time) = parsed else {
        return Err(Refusal::Incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601",
            presented.date
        )));
    };
    check_time(&presented, time, clock::unix_seconds(now))?;

    let signed = signed_header_names(&presented.signed_headers);
    if !signed
        .iter()
        .any(|name| name == "host" || name == ":authority")
    {
        return Err(Refusal::HostNotSigned);
    }
    if header(request.headers, "x-amz-security-token").is_some()
        && !signed.iter().any(|name| name == "x-amz-security-token")
    {
        return Err(Refusal::TokenNotSigned);
    }

    if presented.algorithm != ALGORITHM {
        return Err(Refusal::Incomplete(format!(
            "Unsupported AWS 'algorithm': '{}' (only {ALGORITHM} for now). ",
            presented.algorithm
        )));
    }

    // AWS ignores trailing slashes here.
    let credential = presented.credential.trim_end_matches('/');
    let parts: Vec<&str> = credential.split('/').collect();
    let [key_id, scope_date, scope_region, scope_service, terminator] = parts[..] else {
        return Err(Refusal::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
        )));
    };
    let timestamp = clock::format_basic(time);
    check_scope(
        [scope_date, scope_region, scope_service, terminator],
        service,
        region,
        &timestamp,
        &presented.date,
    )?;

    let credentials = lookup(key_id).ok_or(Refusal::UnknownAccessKey)?;
    let payload_hash = payload_hash(request)?;

    let skip = match presented.form {
        Form::Header => None,
        // The signature cannot sign itself.
        Form::Query { .. } => Some("X-Amz-Signature"),
    };
    let uri = canonical_uri(request.path);
    let query = canonical_query(&pairs, skip);
    let headers = canonical_headers(request.headers, &signed);
    let signed_list = signed.join(";");
    let canonical = CanonicalRequest {
        method: request.method,
        uri: &uri,
        query: &query,
        headers: &headers,
        signed_headers: &signed_list,
        payload_hash: &payload_hash,
    }
    .render();
    let scope = Scope {
        date: scope_date,
        region: scope_region,
        service: scope_service,
    };
    let to_sign = string_to_sign(&timestamp, &scope, &canonical);
    if !signature_matches(
        &credentials.secret_access_key,
        &scope,
        &to_sign,
        &presented.signature,
    ) {
        return Err(Refusal::SignatureMismatch);
    }

    let security_token = header(request.headers, "x-amz-security-token")
        .map(str::to_owned)
        .or_else(|| {
            pairs
                .iter()
                .find(|(key, _)| key.as_slice() == b"X-Amz-Security-Token")
                .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
        });
    Ok(Verified {
        access_key_id: key_id.to_owned(),
        region: scope_region.to_owned(),
        service: scope_service.to_owned(),
        security_token,
    })
}

/// The request time must be within 15 minutes of now; a presigned URL may instead be used
/// until `X-Amz-Date` + `X-Amz-Expires`, but never before its date (less the same skew).
fn check_time(presented: &Presented, time: i64, now: i64) -> Result<(), Refusal> {
    let fmt = clock::format_basic;
    let date = fmt(time);
    if time > now.saturating_add(ALLOWED_SKEW) {
        return Err(Refusal::Expired(format!(
            "Signature not yet current: {date} is still later than {} ({} + 15 min.)",
            fmt(now.saturating_add(ALLOWED_SKEW)),
            fmt(now)
        )));
    }
    match &presented.form {
        Form::Query {
            expires: Some(expires),
        } => {
            let expires = parse_expires(expires)?;
            if time < now.saturating_sub(expires) {
                return Err(Refusal::Expired(format!(
                    "Signature expired: {date} is now earlier than {} ({} - {expires} sec.)",
                    fmt(now.saturating_sub(expires)),
                    fmt(now)
                )));
            }
        }
        Form::Header | Form::Query { expires: None } => {
            if time < now.saturating_sub(ALLOWED_SKEW) {
                return Err(Refusal::Expired(format!(
                    "Signature expired: {date} is now earlier than {} ({} - 15 min.)",
                    fmt(now.saturating_sub(ALLOWED_SKEW)),
                    fmt(now)
                )));
            }
        }
    }
    Ok(())
}

fn parse_expires(expires: &str) -> Result<i64, Refusal> {
    let Ok(seconds) = expires.parse::<i64>() else {
        return Err(Refusal::Incomplete(
            "X-Amz-Expires should be a number".to_owned(),
        ));
    };
    if seconds < 0 {
        return Err(Refusal::Incomplete(
            "X-Amz-Expires must be non-negative".to_owned(),
        ));
    }
    if seconds > MAX_EXPIRES {
        return Err(Refusal::Incomplete(format!(
            "X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}"
        )));
    }
    Ok(seconds)
}

/// Every fault of the scope is named, in AWS's order and words.
fn check_scope(
    [date, region, service, terminator]: [&str; 4],
    expected_service: &str,
    expected_region: Option<&str>,
    timestamp: &str,
    raw_date: &str,
) -> Result<(), Refusal> {
    let mut message = String::new();
    let region_ok = match expected_region {
        Some(expected) => region == expected,
        None => {
            !region.is_empty()
                && region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }
    };
    if !region_ok {
        message.push_str(&format!(
            "Credential should be scoped to a valid region, not '{region}'. "
        ));
    }
    if service != expected_service {
        message.push_str(&format!(
            "Credential should be scoped to correct service: '{expected_service}'. "
        ));
    }
    if terminator != "aws4_request" {
        message.push_str(&format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. "
        ));
    }
    let request_day = &timestamp[..8];
    if date != request_day {
        message.push_str(&format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{request_day}', from '{raw_date}'."
        ));
    }
    if message.is_empty() {
        Ok(())
    } else {
        Err(Refusal::BadScope(message))
    }
}

/// The signed header names: lowercased, sorted and deduplicated, as the canonical request
/// lists them.
fn signed_header_names(list: &str) -> Vec<String> {
    let mut names: Vec<String> = list
        .split(';')
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The payload hash of the canonical request: `X-Amz-Content-Sha256` when sent (botocore signs
/// that value whether or not the header is itself signed), which must then be the body's hash
/// or `UNSIGNED-PAYLOAD`; otherwise the body's hash.
fn payload_hash(request: &SignedRequest) -> Result<String, Refusal> {
    let body_hash = sha256_hex(request.body);
    match header(request.headers, "x-amz-content-sha256").map(str::trim) {
        None => Ok(body_hash),
        Some(UNSIGNED_PAYLOAD) => Ok(UNSIGNED_PAYLOAD.to_owned()),
        Some(sent) if sent.eq_ignore_ascii_case(&body_hash) => Ok(sent.to_owned()),
        Some(_) => Err(Refusal::ContentSha256Mismatch),
    }
}

#[cfg(test)]
mod tests;
