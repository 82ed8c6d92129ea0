//! Requests signed by botocore's own `SigV4Auth` / `SigV4QueryAuth` (service `lambda`, as a
//! client signs a Function URL request) must verify, and each must stop verifying once any
//! signed part of it is changed.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambdaship_sigv4::{Credentials, Refusal, SignedRequest, Verified, verify};
use serde_json::Value;

/// The repository's tools Python (scripts/setup puts boto3 there), else `python3`.
fn python() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tools = manifest.join("../../.tools/venv/bin/python");
    if tools.exists() {
        tools
    } else {
        PathBuf::from("python3")
    }
}

/// botocore's signed requests, or `None` (with the reason printed) when botocore is absent.
fn vectors() -> Option<Value> {
    let python = python();
    let probe = Command::new(&python)
        .args(["-c", "import botocore"])
        .output();
    if !probe.is_ok_and(|out| out.status.success()) {
        eprintln!(
            "SKIPPED: botocore is not importable by {} (run scripts/setup)",
            python.display()
        );
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/botocore/sign.py");
    let out = Command::new(&python).arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "sign.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// One signed request as it went on the wire.
#[derive(Clone)]
struct Case {
    name: String,
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    presigned: bool,
}

impl Case {
    fn from_json(case: &Value) -> Case {
        let text = |key: &str| case[key].as_str().unwrap().to_owned();
        Case {
            name: text("name"),
            method: text("method"),
            path: text("path"),
            query: case["query"].as_str().map(str::to_owned),
            headers: case["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|pair| {
                    (
                        pair[0].as_str().unwrap().to_owned(),
                        pair[1].as_str().unwrap().to_owned(),
                    )
                })
                .collect(),
            body: hex::decode(text("body")).unwrap(),
            presigned: case["presigned"].as_bool().unwrap(),
        }
    }

    fn verify_with(&self, secret: &str, now: SystemTime) -> Result<Verified, Refusal> {
        let request = SignedRequest {
            method: &self.method,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
            body: &self.body,
        };
        verify(&request, "lambda", now, |key| {
            (key == "AKIDLOCALTEST").then(|| Credentials {
                access_key_id: key.to_owned(),
                secret_access_key: secret.to_owned(),
            })
        })
    }

    fn header_mut(&mut self, name: &str) -> &mut String {
        &mut self
            .headers
            .iter_mut()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .unwrap()
            .1
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(header, _)| header.eq_ignore_ascii_case(name))
    }
}

#[test]
fn botocore_signed_requests_verify_and_any_tampering_is_refused() {
    let Some(vectors) = vectors() else { return };
    let secret = vectors["secret"].as_str().unwrap();
    let signed_at = UNIX_EPOCH + Duration::from_secs(vectors["signed_at"].as_u64().unwrap());
    let soon = signed_at + Duration::from_secs(10);
    let cases: Vec<Case> = vectors["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(Case::from_json)
        .collect();
    assert!(cases.len() >= 10, "too few vectors: {}", cases.len());

    for case in &cases {
        let name = &case.name;
        let verified = case
            .verify_with(secret, soon)
            .unwrap_or_else(|refusal| panic!("{name}: refused: {refusal}"));
        assert_eq!(verified.access_key_id, "AKIDLOCALTEST", "{name}");
        assert_eq!(verified.region, "us-east-1", "{name}");
        assert_eq!(verified.service, "lambda", "{name}");

        let mismatch = Err(Refusal::SignatureMismatch);

        assert_eq!(
            case.verify_with("another secret", soon),
            mismatch,
            "{name}: wrong secret"
        );

        let mut tampered = case.clone();
        *tampered.header_mut("host") = "other.lambda-url.us-east-1.on.aws".to_owned();
        assert_eq!(tampered.verify_with(secret, soon), mismatch, "{name}: host");

        let mut tampered = case.clone();
        tampered.path.push('x');
        assert_eq!(tampered.verify_with(secret, soon), mismatch, "{name}: path");

        let mut tampered = case.clone();
        tampered.query = Some(match &case.query {
            Some(query) => format!("{query}&extra=1"),
            None => "extra=1".to_owned(),
        });
        assert_eq!(
            tampered.verify_with(secret, soon),
            mismatch,
            "{name}: query"
        );

        let mut tampered = case.clone();
        tampered.method = if case.method == "GET" { "HEAD" } else { "GET" }.to_owned();
        assert_eq!(
            tampered.verify_with(secret, soon),
            mismatch,
            "{name}: method"
        );

        if !case.body.is_empty() {
            let mut tampered = case.clone();
            *tampered.body.last_mut().unwrap() ^= 1;
            let result = tampered.verify_with(secret, soon);
            if case.has_header("x-amz-content-sha256") {
                // UNSIGNED-PAYLOAD: the body is deliberately not covered.
                assert!(result.is_ok(), "{name}: unsigned body: {result:?}");
            } else {
                assert_eq!(result, mismatch, "{name}: body");
            }
        }

        let lifetime = if case.presigned { 300 } else { 15 * 60 };
        assert!(
            case.verify_with(secret, signed_at + Duration::from_secs(lifetime))
                .is_ok(),
            "{name}: refused at the end of its lifetime"
        );
        let late = case.verify_with(secret, signed_at + Duration::from_secs(lifetime + 1));
        assert!(
            matches!(&late, Err(Refusal::Expired(message)) if message.starts_with("Signature expired: 20260102T030405Z is now earlier than")),
            "{name}: expired: {late:?}"
        );
    }
}

#[test]
fn botocore_vectors_cover_what_they_claim() {
    let Some(vectors) = vectors() else { return };
    let cases: Vec<Case> = vectors["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(Case::from_json)
        .collect();
    let find = |name: &str| cases.iter().find(|case| case.name == name).unwrap();

    // botocore sends spaces in params as `+` but signs them as `%20`.
    assert!(
        find("params encoded by the client (spaces as +)")
            .query
            .as_deref()
            .unwrap()
            .contains("q=a+b")
    );
    assert!(find("path with unicode and %2F").path.contains("%2F"));
    assert!(find("session token").has_header("x-amz-security-token"));
    assert!(find("date header").has_header("date"));
    assert!(!find("date header").has_header("x-amz-date"));
    assert!(find("presigned url").presigned);
    let repeated = find("repeated header")
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("x-multi"))
        .count();
    assert_eq!(repeated, 2);

    let secret = vectors["secret"].as_str().unwrap();
    let signed_at = UNIX_EPOCH + Duration::from_secs(vectors["signed_at"].as_u64().unwrap());
    let verified = find("session token")
        .verify_with(secret, signed_at)
        .unwrap();
    assert_eq!(
        verified.security_token.as_deref(),
        Some("FwoGZXIvYXdzEXAMPLE//token==")
    );
    // Dropping one of two repeated signed headers changes the canonical value.
    let mut one = find("repeated header").clone();
    let first = one
        .headers
        .iter()
        .position(|(name, _)| name.eq_ignore_ascii_case("x-multi"))
        .unwrap();
    one.headers.remove(first);
    assert_eq!(
        one.verify_with(secret, signed_at),
        Err(Refusal::SignatureMismatch)
    );
}
