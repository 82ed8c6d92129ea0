//! What the client presented: the signature parameters from the `Authorization` header or from
//! the presigned query string, before any of them is checked.

use crate::Refusal;

/// Where the signature parameters came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
    Header,
    /// Presigned URL; `expires` is `X-Amz-Expires` as given, if given.
    Query {
        /// The raw `X-Amz-Expires` value.
        expires: Option<String>,
    },
}

/// The signature parameters, still unchecked.
#[derive(Debug, Clone)]
pub struct Presented {
    /// Header or query form.
    pub form: Form,
    /// `AWS4-HMAC-SHA256` when well formed.
    pub algorithm: String,
    /// `AKID/YYYYMMDD/region/service/aws4_request` when well formed.
    pub credential: String,
    /// The `SignedHeaders` list as given (`;`-separated).
    pub signed_headers: String,
    /// The signature in hex.
    pub signature: String,
    /// The request time as given.
    pub date: String,
    /// Whether `date` came from the `Date` header rather than `X-Amz-Date`.
    pub date_is_http: bool,
}

/// The first value of header `name` (case-insensitive).
pub fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(header, _)| header.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Reads the signature parameters from the `Authorization` header or, failing that, from the
/// query string's decoded `pairs`.
pub fn presented(
    headers: &[(String, String)],
    pairs: &[(Vec<u8>, Vec<u8>)],
) -> Result<Presented, Refusal> {
    let query = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key.as_slice() == name.as_bytes())
            .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
    };
    let authorization = header(headers, "authorization");
    let algorithm_param = query("X-Amz-Algorithm");
    match (authorization, algorithm_param) {
        (Some(_), Some(_)) => Err(Refusal::Ambiguous),
        (None, None) => Err(Refusal::MissingAuthentication),
        (Some(authorization), None) => from_header(authorization, headers),
        (None, Some(algorithm)) => from_query(algorithm, &query),
    }
}

fn from_header(authorization: &str, headers: &[(String, String)]) -> Result<Presented, Refusal> {
    let authorization = authorization.trim();
    let (algorithm, rest) = authorization
        .split_once(char::is_whitespace)
        .unwrap_or((authorization, ""));
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    // Anything that is not SigV4 (a bearer token, Basic) gets the "requires" list, as API
    // Gateway answers it, rather than a complaint about its key=value syntax.
    if algorithm.starts_with("AWS4-") {
        for item in rest
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
        {
            let Some((key, value)) = item.split_once('=') else {
                return Err(Refusal::Incomplete(format!(
                    "'{item}' not a valid key=value pair (missing equal-sign) in Authorization header: '{authorization}'."
                )));
            };
            let slot = match key {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => continue,
            };
            *slot = Some(value.to_owned());
        }
    }
    // X-Amz-Date wins over Date when both are sent.
    let date = header(headers, "x-amz-date")
        .map(|date| (date, false))
        .or_else(|| header(headers, "date").map(|date| (date, true)));

    let mut missing = String::new();
    for (name, value) in [
        ("Credential", &credential),
        ("Signature", &signature),
        ("SignedHeaders", &signed_headers),
    ] {
        if value.as_deref().is_none_or(str::is_empty) {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    if date.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    if !missing.is_empty() {
        return Err(Refusal::Incomplete(format!(
            "{missing}Authorization={authorization}"
        )));
    }
    let (date, date_is_http) = date.unwrap_or_default();
    Ok(Presented {
        form: Form::Header,
        algorithm: algorithm.to_owned(),
        credential: credential.unwrap_or_default(),
        signed_headers: signed_headers.unwrap_or_default(),
        signature: signature.unwrap_or_default(),
        date: date.trim().to_owned(),
        date_is_http,
    })
}

fn from_query(
    algorithm: String,
    query: &dyn Fn(&str) -> Option<String>,
) -> Result<Presented, Refusal> {
    let credential = query("X-Amz-Credential");
    let signature = query("X-Amz-Signature");
    let signed_headers = query("X-Amz-SignedHeaders");
    let date = query("X-Amz-Date");
    let mut missing = String::new();
    for (name, value) in [
        ("X-Amz-Algorithm", &Some(algorithm.clone())),
        ("X-Amz-Credential", &credential),
        ("X-Amz-Signature", &signature),
        ("X-Amz-SignedHeaders", &signed_headers),
        ("X-Amz-Date", &date),
    ] {
        if value.as_deref().is_none_or(str::is_empty) {
            missing.push_str(&format!(
                "AWS query-string parameters must include '{name}'. "
            ));
        }
    }
    if !missing.is_empty() {
        return Err(Refusal::Incomplete(format!(
            "{missing}Re-examine the query-string parameters."
        )));
    }
    Ok(Presented {
        form: Form::Query {
            expires: query("X-Amz-Expires"),
        },
        algorithm,
        credential: credential.unwrap_or_default(),
        signed_headers: signed_headers.unwrap_or_default(),
        signature: signature.unwrap_or_default(),
        date: date.unwrap_or_default(),
        date_is_http: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn reads_the_header_form() {
        let h = headers(&[
            (
                "AUTHORIZATION",
                "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd",
            ),
            ("x-amz-date", "20150830T123600Z"),
        ]);
        let p = presented(&h, &[]).map_err(|r| r.to_string());
        let Ok(p) = p else { panic!("{p:?}") };
        assert_eq!(p.form, Form::Header);
        assert_eq!(p.algorithm, "AWS4-HMAC-SHA256");
        assert_eq!(p.credential, "AKID/20150830/us-east-1/service/aws4_request");
        assert_eq!(p.signed_headers, "host;x-amz-date");
        assert_eq!(p.signature, "abcd");
        assert_eq!(p.date, "20150830T123600Z");
        assert!(!p.date_is_http);
    }

    #[test]
    fn lists_every_missing_header_parameter_as_aws_does() {
        let h = headers(&[("Authorization", "Bearer eyJ0eXAi")]);
        assert_eq!(
            presented(&h, &[]).map(|_| ()),
            Err(Refusal::Incomplete(
                "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=Bearer eyJ0eXAi".to_owned()
            ))
        );
    }

    #[test]
    fn names_an_item_without_equal_sign() {
        let h = headers(&[
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential= AKID/x, Signature=a",
            ),
            ("Date", "Sun, 30 Aug 2015 12:36:00 GMT"),
        ]);
        assert_eq!(
            presented(&h, &[]).map(|_| ()),
            Err(Refusal::Incomplete(
                "'AKID/x' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential= AKID/x, Signature=a'.".to_owned()
            ))
        );
    }

    #[test]
    fn unsigned_and_doubly_signed_requests() {
        let pairs = vec![(b"X-Amz-Algorithm".to_vec(), b"AWS4-HMAC-SHA256".to_vec())];
        assert_eq!(
            presented(&headers(&[("host", "h")]), &[]).map(|_| ()),
            Err(Refusal::MissingAuthentication)
        );
        assert_eq!(
            presented(&headers(&[("authorization", "AWS4-HMAC-SHA256")]), &pairs).map(|_| ()),
            Err(Refusal::Ambiguous)
        );
        assert_eq!(
            presented(&[], &pairs).map(|_| ()),
            Err(Refusal::Incomplete(
                "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters.".to_owned()
            ))
        );
    }
}
