//! Why a request was refused, and how AWS words the answer.

use thiserror::Error;

/// The body a Lambda Function URL sends with AuthType `AWS_IAM` when a request carries no
/// signature at all (wording as observed from the service since late 2025; it used to be just
/// `Forbidden`).
const FORBIDDEN_MESSAGE: &str = "Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html";

/// The message AWS gives when every check passed but the signature itself differs.
pub const SIGNATURE_MISMATCH_MESSAGE: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// The message AWS gives for an access key id it does not know.
pub const UNKNOWN_KEY_MESSAGE: &str = "The security token included in the request is invalid.";

/// A request that [`verify`](crate::verify) did not accept.
///
/// [`status`](Refusal::status), [`error_type`](Refusal::error_type) and
/// [`body`](Refusal::body) give the answer AWS sends for it; a caller that answers differently
/// (for instance the Lambda API front, which answers an unsigned request with
/// `MissingAuthenticationTokenException`) matches on the variant instead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    /// No `Authorization` header and no `X-Amz-Algorithm` query parameter: the request is not
    /// signed at all. A Function URL answers this 403 `AccessDeniedException`.
    #[error("{FORBIDDEN_MESSAGE}")]
    MissingAuthentication,
    /// The signature parameters are incomplete or malformed (missing `Credential`, a date that
    /// is not ISO 8601 basic format, an unsupported algorithm, a credential without five parts).
    #[error("{0}")]
    Incomplete(String),
    /// Both the `Authorization` header and the presigned query form are present.
    #[error(
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
    )]
    Ambiguous,
    /// The request date is more than 15 minutes away from now, or a presigned URL has expired.
    #[error("{0}")]
    Expired(String),
    /// `host` is not among the signed headers.
    #[error("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")]
    HostNotSigned,
    /// An `X-Amz-Security-Token` header is present but not covered by the signature, so anyone
    /// on the way could have added it.
    #[error("'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.")]
    TokenNotSigned,
    /// The credential scope names another region, another service, another terminator than
    /// `aws4_request`, or a date other than the request's.
    #[error("{0}")]
    BadScope(String),
    /// The access key id is not known.
    #[error("{UNKNOWN_KEY_MESSAGE}")]
    UnknownAccessKey,
    /// `X-Amz-Content-Sha256` is neither the body's SHA-256 nor `UNSIGNED-PAYLOAD`.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch,
    /// Everything was well formed but the signature differs from the one computed with the
    /// secret key.
    #[error("{SIGNATURE_MISMATCH_MESSAGE}")]
    SignatureMismatch,
}

impl Refusal {
    /// The HTTP status AWS answers with.
    ///
    /// Always 403: HTTP fronts such as Function URLs, API Gateway and the Lambda API answer
    /// signature problems, even malformed ones (`IncompleteSignatureException`), with 403; only
    /// the JSON/query protocol services answer 400.
    pub fn status(&self) -> u16 {
        403
    }

    /// The `x-amzn-ErrorType` header value.
    pub fn error_type(&self) -> &'static str {
        match self {
            Refusal::MissingAuthentication => "AccessDeniedException",
            Refusal::Incomplete(_) => "IncompleteSignatureException",
            Refusal::UnknownAccessKey => "UnrecognizedClientException",
            Refusal::Ambiguous
            | Refusal::Expired(_)
            | Refusal::HostNotSigned
            | Refusal::TokenNotSigned
            | Refusal::BadScope(_)
            | Refusal::ContentSha256Mismatch
            | Refusal::SignatureMismatch => "InvalidSignatureException",
        }
    }

    /// The JSON body as AWS sends it: `{"Message":…}` for the Function URL's own
    /// `AccessDeniedException`, `{"message":…}` for the signature checks.
    pub fn body(&self) -> String {
        let key = match self {
            Refusal::MissingAuthentication => "Message",
            _ => "message",
        };
        let mut body = serde_json::Map::new();
        body.insert(key.to_owned(), self.to_string().into());
        serde_json::Value::Object(body).to_string()
    }
}
