//! One oci-client `Client` per pull or push, set up for the reference's registry.
//!
//! oci-client is used rather than a hand-written client: it already handles the Basic and
//! Bearer challenges (credentials sent to the token realm), the HEAD blob check,
//! monolithic uploads from a stream (`use_monolithic_push`, as ECR needs), relative and
//! absolute upload `Location`s, ECR's manifest PUT without `Location`, and verified
//! streaming blob pulls. What it lacks is done around it here: our reference grammar,
//! platform choice with a useful error, the blob store, skipping and counting, and errors
//! that say what to do.

use std::sync::Once;
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};

use super::error::{Context, RegistryError};
use crate::Reference;
use crate::registry::RegistryAuth;

/// A connection that takes longer than this is reported unreachable rather than hanging a
/// build.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// A registry silent for this long mid-transfer is given up on.
const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// Parallel blob transfers: ECR dropped connections when a client uploaded everything at
/// once, and three keep a link busy.
pub(crate) const PARALLEL_TRANSFERS: usize = 3;

/// A client for one registry, with what its errors need to be worded.
pub(crate) struct Session<'a> {
    pub client: oci_client::Client,
    pub oci_reference: oci_client::Reference,
    pub auth: oci_client::secrets::RegistryAuth,
    pub context: Context<'a>,
}

impl<'a> Session<'a> {
    /// A session for `reference`: plain HTTP when the registry is on loopback (as Docker
    /// allows), HTTPS otherwise.
    pub fn new(reference: &'a Reference, auth: &RegistryAuth) -> Result<Self, RegistryError> {
        install_crypto_provider();
        let scheme = if reference.is_loopback() {
            "http"
        } else {
            "https"
        };
        let context = Context {
            reference,
            scheme,
            anonymous: auth.is_anonymous(),
        };
        let protocol = if reference.is_loopback() {
            ClientProtocol::HttpsExcept(vec![reference.registry().to_string()])
        } else {
            ClientProtocol::Https
        };
        let config = ClientConfig {
            protocol,
            use_monolithic_push: true,
            max_concurrent_upload: PARALLEL_TRANSFERS,
            max_concurrent_download: PARALLEL_TRANSFERS,
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            user_agent: concat!("lambdaship/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        let client = oci_client::Client::try_from(config)
            .map_err(|e| context.protocol(format!("cannot set up an HTTP client: {e}")))?;
        Ok(Session {
            client,
            oci_reference: to_oci_reference(reference, true),
            auth: auth.into(),
            context,
        })
    }
}

/// The reference in oci-client's type. With `by_digest` false a reference that has a tag
/// addresses the tag even when it also pins a digest (a push must name the tag).
pub(crate) fn to_oci_reference(reference: &Reference, by_digest: bool) -> oci_client::Reference {
    let registry = reference.registry().to_string();
    let repository = reference.repository().to_string();
    match (reference.tag(), reference.digest()) {
        (Some(tag), Some(digest)) if by_digest => oci_client::Reference::with_tag_and_digest(
            registry,
            repository,
            tag.to_string(),
            digest.to_string(),
        ),
        (None, Some(digest)) => {
            oci_client::Reference::with_digest(registry, repository, digest.to_string())
        }
        (tag, _) => oci_client::Reference::with_tag(
            registry,
            repository,
            tag.unwrap_or(crate::reference::DEFAULT_TAG).to_string(),
        ),
    }
}

/// reqwest is built without a default TLS provider so that rustls uses ring (already in
/// the workspace through the AWS SDK) rather than aws-lc, which needs cmake and a long C
/// build. Installing fails harmlessly when another part of the program installed one.
fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_up_https_on_ring_and_plain_http_only_for_loopback() {
        for (text, scheme) in [
            ("public.ecr.aws/lambda/python:3.13", "https"),
            ("127.0.0.1:5000/app", "http"),
            ("localhost:5000/app", "http"),
        ] {
            let reference: Reference = text.parse().unwrap();
            let session = Session::new(&reference, &RegistryAuth::Anonymous).unwrap();
            assert_eq!(session.context.scheme, scheme, "{text}");
        }
    }

    #[test]
    fn addresses_the_tag_when_pushing_and_the_digest_when_pulling() {
        let digest = crate::Digest::of(b"m");
        let reference: Reference = format!("127.0.0.1:5000/app:v1@{digest}").parse().unwrap();
        let pull = to_oci_reference(&reference, true);
        assert_eq!(pull.digest(), Some(digest.to_string().as_str()));
        let push = to_oci_reference(&reference, false);
        assert_eq!((push.tag(), push.digest()), (Some("v1"), None));
    }
}
