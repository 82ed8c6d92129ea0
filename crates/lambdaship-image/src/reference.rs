//! Image references: `host[:port]/path[:tag][@sha256:…]`, parsed with the distribution
//! spec's grammar and normalised as Docker does, so that `python:3.13` and
//! `docker.io/library/python:3.13` name the same image.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::Digest;

/// The registry Docker assumes when a reference names none.
pub const DOCKER_HUB: &str = "docker.io";

/// The tag Docker assumes when a reference has neither tag nor digest.
pub const DEFAULT_TAG: &str = "latest";

const ACCEPTED_FORM: &str = "expected HOST[:PORT]/PATH[:TAG][@sha256:DIGEST], \
     e.g. 127.0.0.1:5000/my-app:v1 or public.ecr.aws/lambda/python:3.13";

/// The distribution spec's limit on a repository name, registry included.
const MAX_NAME_LENGTH: usize = 255;
const MAX_TAG_LENGTH: usize = 128;

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// A string that is not a valid image reference, with the part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a valid image reference: {reason}; {ACCEPTED_FORM}")]
pub struct ReferenceError {
    input: String,
    reason: String,
}

impl ReferenceError {
    fn new(input: &str, reason: impl Into<String>) -> Self {
        ReferenceError {
            input: input.to_string(),
            reason: reason.into(),
        }
    }

    /// What is wrong with the reference, without the accepted form.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl Reference {
    /// A reference built from its parts; `tag` defaults to `latest` when `digest` is absent
    /// too. The parts are checked as [`FromStr`] checks them.
    pub fn new(
        registry: &str,
        repository: &str,
        tag: Option<&str>,
        digest: Option<Digest>,
    ) -> Result<Self, ReferenceError> {
        let mut text = format!("{registry}/{repository}");
        if let Some(tag) = tag {
            text.push(':');
            text.push_str(tag);
        }
        if let Some(digest) = digest {
            text.push('@');
            text.push_str(&digest.to_string());
        }
        text.parse()
    }

    /// The registry, `host[:port]` (`docker.io` when the reference named none).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path inside the registry (`library/python` for `python`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if any (`latest` when the reference had neither tag nor digest).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The manifest digest, if the reference pins one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The same repository and tag, pinned to `digest`.
    pub fn with_digest(&self, digest: Digest) -> Self {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The same repository with another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> Result<Self, ReferenceError> {
        Reference::new(&self.registry, &self.repository, Some(tag), None)
    }

    /// The registry's host, without port or IPv6 brackets.
    pub fn host(&self) -> &str {
        split_host_port(&self.registry).0
    }

    /// The registry's port, if the reference names one.
    pub fn port(&self) -> Option<u16> {
        split_host_port(&self.registry).1
    }

    /// Whether the registry is on this machine (`localhost`, 127.0.0.0/8 or `::1`): such
    /// registries are spoken to over plain HTTP, as Docker does for 127.0.0.0/8.
    pub fn is_loopback(&self) -> bool {
        let host = self.host();
        if host.eq_ignore_ascii_case("localhost") {
            return true;
        }
        match host.parse::<IpAddr>() {
            Ok(ip) => ip.is_loopback(),
            Err(_) => false,
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| ReferenceError::new(input, reason);
        if input.is_empty() {
            return Err(fail("it is empty".into()));
        }
        if let Some(c) = input.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail(format!("it contains the character {c:?}")));
        }

        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => {
                let digest = digest.parse::<Digest>().map_err(|_| {
                    fail(format!(
                        "the digest `{digest}` is not `sha256:` followed by 64 lower-case hex digits"
                    ))
                })?;
                (rest, Some(digest))
            }
            None => (input, None),
        };

        // A `:` after the last `/` starts the tag; one before it belongs to a port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let (name, tag) = rest.split_at(last_slash + i);
                let tag = &tag[1..];
                check_tag(tag).map_err(fail)?;
                (name, Some(tag.to_string()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(fail("the repository name is missing".into()));
        }

        let (registry, repository) = match name.split_once('/') {
            Some((first, path)) if looks_like_registry(first) => {
                check_registry(first).map_err(fail)?;
                (first.to_string(), path.to_string())
            }
            Some(_) => (DOCKER_HUB.to_string(), name.to_string()),
            None => (DOCKER_HUB.to_string(), format!("library/{name}")),
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        check_repository(&repository).map_err(fail)?;
        if registry.len() + 1 + repository.len() > MAX_NAME_LENGTH {
            return Err(fail(format!(
                "the name is longer than {MAX_NAME_LENGTH} characters"
            )));
        }

        let tag = match (tag, &digest) {
            (None, None) => Some(DEFAULT_TAG.to_string()),
            (tag, _) => tag,
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }
}

/// Docker's rule: the first component names a registry when it has a `.` or a `:`, is
/// `localhost`, or has upper-case letters (which no repository may have).
fn looks_like_registry(first: &str) -> bool {
    first.contains(['.', ':'])
        || first == "localhost"
        || first.starts_with('[')
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

fn split_host_port(registry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = registry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((host, port)) => (host, port.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (rest, None),
        };
    }
    match registry.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()),
        None => (registry, None),
    }
}

fn check_registry(registry: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("the registry `{registry}` {why}"));
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let Some((ip, port)) = rest.split_once(']') else {
            return bad("has a `[` without its `]`");
        };
        if ip.parse::<Ipv6Addr>().is_err() {
            return bad("has an invalid IPv6 address between brackets");
        }
        match port {
            "" => (ip, None),
            p => match p.strip_prefix(':') {
                Some(p) => (ip, Some(p)),
                None => return bad("has text after the `]` that is not `:PORT`"),
            },
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        }
    };
    if let Some(port) = port
        && (port.is_empty()
            || !port.bytes().all(|b| b.is_ascii_digit())
            || port.parse::<u16>().is_err())
    {
        return bad("has a port that is not a number from 0 to 65535");
    }
    if registry.starts_with('[') || host.parse::<Ipv4Addr>().is_ok() {
        return Ok(());
    }
    for component in host.split('.') {
        let valid = !component.is_empty()
            && component
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !component.starts_with('-')
            && !component.ends_with('-');
        if !valid {
            return bad(
                "is not a host name: its dot-separated parts are letters, digits and inner `-`",
            );
        }
    }
    Ok(())
}

fn check_repository(repository: &str) -> Result<(), String> {
    if repository.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "the repository `{repository}` has upper-case letters; repository names are lower-case"
        ));
    }
    for component in repository.split('/') {
        if !is_path_component(component) {
            let why = if component.is_empty() {
                "has an empty path component (a `/` at an end or `//`)".to_string()
            } else {
                format!(
                    "has the path component `{component}`; each component is lower-case letters \
                     and digits, separated inside by `.`, `_`, `__` or dashes"
                )
            };
            return Err(format!("the repository `{repository}` {why}"));
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(component: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = component.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        let sep_start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[sep_start..i];
        let dashes = separator.bytes().all(|b| b == b'-');
        if !(separator == "." || separator == "_" || separator == "__" || dashes) {
            return false;
        }
    }
}

fn check_tag(tag: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err("the tag after `:` is empty".into());
    }
    if tag.len() > MAX_TAG_LENGTH {
        return Err(format!(
            "the tag is {} characters long, more than the {MAX_TAG_LENGTH} allowed",
            tag.len()
        ));
    }
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    if !word(bytes[0]) || !bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-') {
        return Err(format!(
            "the tag `{tag}` has characters outside letters, digits, `_`, `.` and `-` \
             (or starts with `.` or `-`)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Reference {
        text.parse().unwrap()
    }

    #[test]
    fn normalises_as_docker_does() {
        let cases = [
            ("python", "docker.io/library/python:latest"),
            ("python:3.13", "docker.io/library/python:3.13"),
            ("amazon/aws-cli", "docker.io/amazon/aws-cli:latest"),
            ("docker.io/python", "docker.io/library/python:latest"),
            (
                "public.ecr.aws/lambda/python:3.13-arm64",
                "public.ecr.aws/lambda/python:3.13-arm64",
            ),
            ("localhost/app", "localhost/app:latest"),
            ("localhost:5000/a/b/c:v1", "localhost:5000/a/b/c:v1"),
            (
                "127.0.0.1:5000/my_app__x.y--z",
                "127.0.0.1:5000/my_app__x.y--z:latest",
            ),
            ("[::1]:5000/app:t", "[::1]:5000/app:t"),
        ];
        for (input, canonical) in cases {
            assert_eq!(parse(input).to_string(), canonical, "{input}");
            assert_eq!(
                parse(canonical).to_string(),
                canonical,
                "{canonical} round-trips"
            );
        }
    }

    #[test]
    fn keeps_digests_and_adds_no_tag_beside_one() {
        let digest = Digest::of(b"manifest");
        let pinned = parse(&format!("127.0.0.1:5000/app@{digest}"));
        assert_eq!(pinned.tag(), None);
        assert_eq!(pinned.digest(), Some(&digest));
        assert_eq!(pinned.to_string(), format!("127.0.0.1:5000/app@{digest}"));

        let both = parse(&format!("app:v2@{digest}"));
        assert_eq!(both.tag(), Some("v2"));
        assert_eq!(
            both.to_string(),
            format!("docker.io/library/app:v2@{digest}")
        );
    }

    #[test]
    fn splits_registry_host_and_port() {
        let r = parse("127.0.0.1:5000/team/app:v1");
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.host(), "127.0.0.1");
        assert_eq!(r.port(), Some(5000));
        assert_eq!(r.repository(), "team/app");
        assert_eq!(r.tag(), Some("v1"));
        let r = parse("[::1]:5001/app");
        assert_eq!((r.host(), r.port()), ("::1", Some(5001)));
        assert_eq!(parse("public.ecr.aws/lambda/python").port(), None);
    }

    #[test]
    fn knows_which_registries_are_on_this_machine() {
        for local in [
            "localhost/app",
            "localhost:5000/app",
            "127.0.0.1:5000/app",
            "127.1.2.3/app",
            "[::1]:5000/app",
        ] {
            assert!(parse(local).is_loopback(), "{local}");
        }
        for remote in [
            "python",
            "public.ecr.aws/lambda/python",
            "10.0.0.1:5000/app",
            "localhost.example.com/app",
            "128.0.0.1/app",
        ] {
            assert!(!parse(remote).is_loopback(), "{remote}");
        }
    }

    #[test]
    fn says_which_part_is_wrong_and_what_is_accepted() {
        let long_tag = format!("app:{}", "t".repeat(129));
        let cases: [(&str, &str); 13] = [
            ("", "empty"),
            ("127.0.0.1:5000/My-App", "upper-case"),
            ("MyApp", "upper-case"),
            ("app:", "tag after `:` is empty"),
            (&long_tag, "129 characters long"),
            ("app:-x", "the tag `-x`"),
            ("app@sha256:abc", "the digest `sha256:abc`"),
            ("app@md5:abc", "the digest"),
            ("127.0.0.1:5000/", "empty path component"),
            ("127.0.0.1:99999/app", "port"),
            ("host.-bad/app", "not a host name"),
            ("127.0.0.1:5000/a_-b", "path component `a_-b`"),
            ("my app", "character ' '"),
        ];
        for (input, part) in cases {
            let error = input.parse::<Reference>().unwrap_err();
            let message = error.to_string();
            assert!(message.contains(part), "{input}: {message}");
            assert!(message.contains("expected HOST[:PORT]/PATH"), "{message}");
        }
        assert!(
            format!("a/{}", "b".repeat(260))
                .parse::<Reference>()
                .is_err()
        );
        let max_tag = format!("app:{}", "t".repeat(128));
        assert!(max_tag.parse::<Reference>().is_ok());
    }

    #[test]
    fn builds_from_parts() {
        let r = Reference::new("127.0.0.1:5000", "app", None, None).unwrap();
        assert_eq!(r.to_string(), "127.0.0.1:5000/app:latest");
        assert_eq!(r.with_tag("v2").unwrap().tag(), Some("v2"));
        assert!(Reference::new("127.0.0.1:5000", "App", None, None).is_err());
    }
}
