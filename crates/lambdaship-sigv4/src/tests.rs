#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;

const KEY_ID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// 20150830T123600Z, the time of the AWS SigV4 test suite.
const SUITE_TIME: u64 = 1_440_938_160;

fn at(offset_seconds: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(SUITE_TIME.checked_add_signed(offset_seconds).unwrap())
}

fn lookup(key: &str) -> Option<Credentials> {
    (key == KEY_ID).then(|| Credentials {
        access_key_id: KEY_ID.to_owned(),
        secret_access_key: SECRET.to_owned(),
    })
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn get(path: &'static str, query: Option<&'static str>, headers: &[(String, String)]) -> Refused {
    let request = SignedRequest {
        method: "GET",
        path,
        query,
        headers,
        body: b"",
    };
    verify(&request, "service", at(0), lookup)
}

type Refused = Result<Verified, Refusal>;

/// The suite's `get-vanilla` request, signature as published.
fn vanilla(signature: &str) -> Vec<(String, String)> {
    headers(&[
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
        (
            "Authorization",
            &format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}"
            ),
        ),
    ])
}

const VANILLA_SIGNATURE: &str = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

#[test]
fn aws_suite_get_vanilla_is_accepted() {
    let verified = get("/", None, &vanilla(VANILLA_SIGNATURE)).unwrap();
    assert_eq!(
        verified,
        Verified {
            access_key_id: KEY_ID.to_owned(),
            region: "us-east-1".to_owned(),
            service: "service".to_owned(),
            security_token: None,
        }
    );
}

#[test]
fn aws_suite_get_vanilla_query_order_key_case_is_accepted() {
    let h = headers(&[
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        ),
    ]);
    assert!(get("/", Some("Param2=value2&Param1=value1"), &h).is_ok());
    assert_eq!(
        get("/", Some("Param2=value2&Param1=value3"), &h),
        Err(Refusal::SignatureMismatch)
    );
}

#[test]
fn one_changed_signature_digit_is_a_mismatch() {
    let mut wrong = VANILLA_SIGNATURE.to_owned();
    wrong.replace_range(63.., "0");
    let refusal = get("/", None, &vanilla(&wrong)).unwrap_err();
    assert_eq!(refusal, Refusal::SignatureMismatch);
    assert_eq!(refusal.status(), 403);
    assert_eq!(refusal.error_type(), "InvalidSignatureException");
    assert_eq!(
        refusal.body(),
        r#"{"message":"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}"#
    );
    // Not hex, or too short: a mismatch too, never a panic.
    for bad in ["zz", &VANILLA_SIGNATURE[..62]] {
        assert_eq!(
            get("/", None, &vanilla(bad)),
            Err(Refusal::SignatureMismatch),
            "{bad}"
        );
    }
    assert!(matches!(
        get("/", None, &vanilla("")),
        Err(Refusal::Incomplete(_))
    ));
}

#[test]
fn tampering_with_the_vanilla_request_is_caught() {
    let mut h = vanilla(VANILLA_SIGNATURE);
    assert_eq!(get("/x", None, &h), Err(Refusal::SignatureMismatch));
    assert_eq!(get("/", Some("a=1"), &h), Err(Refusal::SignatureMismatch));
    h[0].1 = "example2.amazonaws.com".to_owned();
    assert_eq!(get("/", None, &h), Err(Refusal::SignatureMismatch));
}

#[test]
fn unsigned_headers_may_change_and_signed_names_are_case_blind() {
    let mut h = vanilla(VANILLA_SIGNATURE);
    h.push(("User-Agent".to_owned(), "anything".to_owned()));
    h[0].0 = "HOST".to_owned();
    assert!(get("/", None, &h).is_ok());
}

#[test]
fn unknown_key_is_unrecognized_client() {
    let h = vanilla(VANILLA_SIGNATURE);
    let request = SignedRequest {
        method: "GET",
        path: "/",
        query: None,
        headers: &h,
        body: b"",
    };
    let refusal = verify(&request, "service", at(0), |_| None).unwrap_err();
    assert_eq!(refusal, Refusal::UnknownAccessKey);
    assert_eq!(refusal.error_type(), "UnrecognizedClientException");
    assert_eq!(
        refusal.body(),
        r#"{"message":"The security token included in the request is invalid."}"#
    );
}

#[test]
fn wrong_secret_is_a_mismatch() {
    let h = vanilla(VANILLA_SIGNATURE);
    let request = SignedRequest {
        method: "GET",
        path: "/",
        query: None,
        headers: &h,
        body: b"",
    };
    let other = |_: &str| {
        Some(Credentials {
            access_key_id: KEY_ID.to_owned(),
            secret_access_key: "another".to_owned(),
        })
    };
    assert_eq!(
        verify(&request, "service", at(0), other),
        Err(Refusal::SignatureMismatch)
    );
}

#[test]
fn unsigned_request_is_a_distinct_refusal() {
    let refusal = get("/", None, &headers(&[("Host", "h")])).unwrap_err();
    assert_eq!(refusal, Refusal::MissingAuthentication);
    assert_eq!(refusal.status(), 403);
    assert_eq!(refusal.error_type(), "AccessDeniedException");
    assert!(
        refusal.body().starts_with(r#"{"Message":"Forbidden."#),
        "{}",
        refusal.body()
    );
}

#[test]
fn clock_skew_over_fifteen_minutes_is_refused_in_aws_words() {
    let h = vanilla(VANILLA_SIGNATURE);
    let request = SignedRequest {
        method: "GET",
        path: "/",
        query: None,
        headers: &h,
        body: b"",
    };
    assert!(verify(&request, "service", at(900), lookup).is_ok());
    assert!(verify(&request, "service", at(-900), lookup).is_ok());
    assert_eq!(
        verify(&request, "service", at(901), lookup),
        Err(Refusal::Expired(
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T125101Z - 15 min.)".to_owned()
        ))
    );
    let refusal = verify(&request, "service", at(-901), lookup).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::Expired(
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T122059Z + 15 min.)".to_owned()
        )
    );
    assert_eq!(refusal.error_type(), "InvalidSignatureException");
}

#[test]
fn scope_must_name_the_service_and_region() {
    let h = vanilla(VANILLA_SIGNATURE);
    let request = SignedRequest {
        method: "GET",
        path: "/",
        query: None,
        headers: &h,
        body: b"",
    };
    assert_eq!(
        verify(&request, "lambda", at(0), lookup),
        Err(Refusal::BadScope(
            "Credential should be scoped to correct service: 'lambda'. ".to_owned()
        ))
    );
    assert_eq!(
        verify_in_region(&request, "service", "eu-west-1", at(0), lookup),
        Err(Refusal::BadScope(
            "Credential should be scoped to a valid region, not 'us-east-1'. ".to_owned()
        ))
    );
    assert!(verify_in_region(&request, "service", "us-east-1", at(0), lookup).is_ok());
}

#[test]
fn scope_faults_are_all_named_together() {
    let h = headers(&[
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150831/US_East/other/aws5_request, SignedHeaders=host;x-amz-date, Signature=00",
        ),
    ]);
    assert_eq!(
        get("/", None, &h),
        Err(Refusal::BadScope(
            "Credential should be scoped to a valid region, not 'US_East'. Credential should be scoped to correct service: 'service'. Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150831' != '20150830', from '20150830T123600Z'.".to_owned()
        ))
    );
}

fn authorization(credential: &str, signed: &str) -> Vec<(String, String)> {
    headers(&[
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
        (
            "Authorization",
            &format!(
                "AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signed}, Signature=00"
            ),
        ),
    ])
}

#[test]
fn malformed_parameters_are_incomplete() {
    let scope = "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";
    assert_eq!(
        get("/", None, &authorization("AKIDEXAMPLE/20150830/us-east-1/service", "host")),
        Err(Refusal::Incomplete(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKIDEXAMPLE/20150830/us-east-1/service'".to_owned()
        ))
    );
    assert_eq!(
        get("/", None, &authorization(scope, "x-amz-date")),
        Err(Refusal::HostNotSigned)
    );
    let mut h = authorization(scope, "host");
    h[2].1 = h[2].1.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512");
    let refusal = get("/", None, &h).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::Incomplete(
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). "
                .to_owned()
        )
    );
    assert_eq!(refusal.error_type(), "IncompleteSignatureException");
    let mut h = authorization(scope, "host");
    h[1].1 = "2015-08-30T12:36:00Z".to_owned();
    assert_eq!(
        get("/", None, &h),
        Err(Refusal::Incomplete(
            "Date must be in ISO-8601 'basic format'. Got '2015-08-30T12:36:00Z'. See http://en.wikipedia.org/wiki/ISO_8601".to_owned()
        ))
    );
}

/// Signs with this crate's own canonicalisation; the published vectors above and the
/// botocore tests in tests/ are what pin that canonicalisation down.
struct Signer<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    headers: Vec<(String, String)>,
    signed: &'a str,
    payload_hash: String,
    timestamp: &'a str,
}

impl Signer<'_> {
    fn signature(&self, skip: Option<&str>) -> String {
        let pairs = self.query.map(query_pairs).unwrap_or_default();
        let signed: Vec<String> = self.signed.split(';').map(str::to_owned).collect();
        let canonical = CanonicalRequest {
            method: self.method,
            uri: &canonical_uri(self.path),
            query: &canonical_query(&pairs, skip),
            headers: &canonical_headers(&self.headers, &signed),
            signed_headers: self.signed,
            payload_hash: &self.payload_hash,
        }
        .render();
        let scope = Scope {
            date: &self.timestamp[..8],
            region: "us-east-1",
            service: "lambda",
        };
        let to_sign = string_to_sign(self.timestamp, &scope, &canonical);
        signing::signature_hex(SECRET, &scope, &to_sign)
    }

    fn header_form(mut self) -> Vec<(String, String)> {
        let signature = self.signature(None);
        self.headers.push((
            "Authorization".to_owned(),
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}/us-east-1/lambda/aws4_request, SignedHeaders={}, Signature={signature}",
                &self.timestamp[..8],
                self.signed
            ),
        ));
        self.headers
    }
}

fn post(body: &[u8], headers: &[(String, String)], now: SystemTime) -> Refused {
    let request = SignedRequest {
        method: "POST",
        path: "/",
        query: None,
        headers,
        body,
    };
    verify(&request, "lambda", now, lookup)
}

#[test]
fn content_sha256_must_match_the_body_or_be_unsigned_payload() {
    let body = b"{\"a\":1}";
    let hash = signing::sha256_hex(body);
    let signer = |payload: &str| Signer {
        method: "POST",
        path: "/",
        query: None,
        headers: headers(&[
            ("Host", "x.lambda-url.us-east-1.on.aws"),
            ("X-Amz-Date", "20150830T123600Z"),
            ("X-Amz-Content-Sha256", payload),
        ]),
        signed: "host;x-amz-content-sha256;x-amz-date",
        payload_hash: payload.to_owned(),
        timestamp: "20150830T123600Z",
    };
    let hashed = signer(&hash).header_form();
    assert!(post(body, &hashed, at(0)).is_ok());
    let refusal = post(b"{\"a\":2}", &hashed, at(0)).unwrap_err();
    assert_eq!(refusal, Refusal::ContentSha256Mismatch);
    assert_eq!(refusal.error_type(), "InvalidSignatureException");

    let unsigned = signer("UNSIGNED-PAYLOAD").header_form();
    assert!(post(body, &unsigned, at(0)).is_ok());
    assert!(post(b"anything", &unsigned, at(0)).is_ok());
}

#[test]
fn the_body_is_signed_when_no_content_sha256_is_sent() {
    let body = b"payload";
    let h = Signer {
        method: "POST",
        path: "/",
        query: None,
        headers: headers(&[
            ("Host", "x.lambda-url.us-east-1.on.aws"),
            ("X-Amz-Date", "20150830T123600Z"),
        ]),
        signed: "host;x-amz-date",
        payload_hash: signing::sha256_hex(body),
        timestamp: "20150830T123600Z",
    }
    .header_form();
    assert!(post(body, &h, at(0)).is_ok());
    assert_eq!(post(b"payloae", &h, at(0)), Err(Refusal::SignatureMismatch));
}

#[test]
fn session_token_is_accepted_only_when_signed() {
    let signer = |signed| Signer {
        method: "POST",
        path: "/",
        query: None,
        headers: headers(&[
            ("Host", "x.lambda-url.us-east-1.on.aws"),
            ("X-Amz-Date", "20150830T123600Z"),
            ("X-Amz-Security-Token", "FwoGZXIvYXdzEXAMPLE"),
        ]),
        signed,
        payload_hash: signing::sha256_hex(b""),
        timestamp: "20150830T123600Z",
    };
    let verified = post(
        b"",
        &signer("host;x-amz-date;x-amz-security-token").header_form(),
        at(0),
    )
    .unwrap();
    assert_eq!(
        verified.security_token.as_deref(),
        Some("FwoGZXIvYXdzEXAMPLE")
    );
    assert_eq!(
        post(b"", &signer("host;x-amz-date").header_form(), at(0)),
        Err(Refusal::TokenNotSigned)
    );
}

#[test]
fn date_header_stands_in_for_x_amz_date() {
    let h = Signer {
        method: "GET",
        path: "/",
        query: None,
        headers: headers(&[
            ("Host", "x.lambda-url.us-east-1.on.aws"),
            ("Date", "Sun, 30 Aug 2015 12:36:00 -0000"),
        ]),
        signed: "date;host",
        payload_hash: signing::sha256_hex(b""),
        timestamp: "20150830T123600Z",
    }
    .header_form();
    let request = SignedRequest {
        method: "GET",
        path: "/",
        query: None,
        headers: &h,
        body: b"",
    };
    assert!(verify(&request, "lambda", at(0), lookup).is_ok());
    assert!(matches!(
        verify(&request, "lambda", at(3600), lookup),
        Err(Refusal::Expired(_))
    ));
}

fn presigned_query(expires: &str, timestamp: &str) -> String {
    let date = &timestamp[..8];
    let unsigned = format!(
        "Action=run&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F{date}%2Fus-east-1%2Flambda%2Faws4_request&X-Amz-Date={timestamp}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host"
    );
    let signer = Signer {
        method: "GET",
        path: "/fn",
        query: Some(&unsigned),
        headers: headers(&[("Host", "x.lambda-url.us-east-1.on.aws")]),
        signed: "host",
        payload_hash: signing::sha256_hex(b""),
        timestamp,
    };
    let signature = signer.signature(Some("X-Amz-Signature"));
    format!("{unsigned}&X-Amz-Signature={signature}")
}

fn get_presigned(query: &str, now: SystemTime) -> Refused {
    let h = headers(&[("Host", "x.lambda-url.us-east-1.on.aws")]);
    let request = SignedRequest {
        method: "GET",
        path: "/fn",
        query: Some(query),
        headers: &h,
        body: b"",
    };
    verify(&request, "lambda", now, lookup)
}

#[test]
fn presigned_urls_verify_until_they_expire() {
    let query = presigned_query("3600", "20150830T123600Z");
    assert!(get_presigned(&query, at(0)).is_ok());
    assert!(get_presigned(&query, at(3600)).is_ok());
    assert_eq!(
        get_presigned(&query, at(3601)),
        Err(Refusal::Expired(
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T133601Z - 3600 sec.)".to_owned()
        ))
    );
    assert!(matches!(
        get_presigned(&query, at(-901)),
        Err(Refusal::Expired(_))
    ));
    let tampered = query.replace("Action=run", "Action=walk");
    assert_eq!(
        get_presigned(&tampered, at(0)),
        Err(Refusal::SignatureMismatch)
    );
}

#[test]
fn presigned_expiry_must_be_a_week_or_less() {
    let query = presigned_query("604801", "20150830T123600Z");
    assert_eq!(
        get_presigned(&query, at(0)),
        Err(Refusal::Incomplete(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800".to_owned()
        ))
    );
    let query = presigned_query("soon", "20150830T123600Z");
    assert_eq!(
        get_presigned(&query, at(0)),
        Err(Refusal::Incomplete(
            "X-Amz-Expires should be a number".to_owned()
        ))
    );
}

#[test]
fn odd_input_is_refused_without_panicking() {
    let authorizations = [
        "",
        "AWS4-",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 ,,, ",
        "AWS4-HMAC-SHA256 Credential=é/é/é/é/é, SignedHeaders=hôst, Signature=é",
        "AWS4-HMAC-SHA256 Credential=////, SignedHeaders=;;;, Signature==",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request/, SignedHeaders=HOST;X-Amz-Date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    ];
    for authorization in authorizations {
        for date in ["20150830T123600Z", "", "é", "99999999T999999Z"] {
            let h = headers(&[
                ("Host", "example.amazonaws.com"),
                ("X-Amz-Date", date),
                ("Authorization", authorization),
            ]);
            let _ = get("/", Some("%zz=%&=&==&%C3"), &h);
        }
    }
    for query in [
        "X-Amz-Algorithm=",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%FF&X-Amz-Signature=%&X-Amz-SignedHeaders=host&X-Amz-Date=é&X-Amz-Expires=-1",
        "X-Amz-Algorithm=x&X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-SignedHeaders=host&X-Amz-Date=20150830T123600Z&X-Amz-Expires=99999999999999999999999",
    ] {
        assert!(
            get("/", Some(query), &headers(&[("Host", "h")])).is_err(),
            "{query}"
        );
    }
    // Upper-case names in SignedHeaders and a trailing slash on the credential are accepted.
    let h = headers(&[
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", "20150830T123600Z"),
        ("Authorization", authorizations[6]),
    ]);
    assert!(get("/", None, &h).is_ok());
}
