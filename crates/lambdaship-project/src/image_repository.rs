//! `image_repository` (and `deploy --image-repository`): where `deploy` pushes an image
//! function's image.

use std::fmt;

use crate::base_image::{check_registry_host, check_repository_path, names_a_host};

/// The accepted forms, for messages.
pub const IMAGE_REPOSITORY_FORMS: &str = "an ECR repository name in the deploying account (e.g. `hello` or `team/hello`), or a registry and repository `host[:port]/name` without a tag (e.g. `127.0.0.1:5000/hello`)";

/// The repository an image is pushed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRepository {
    /// A repository of the account's private ECR registry, created when missing; the
    /// registry's host and credentials come from ECR.
    Ecr(String),
    /// A repository on a registry named by its host: an ECR host (`ACCOUNT.dkr.ecr.REGION.
    /// amazonaws.com`) or any other registry, which Lambda emulators can read.
    Registry {
        /// `host[:port]`.
        host: String,
        /// The repository's path on that registry.
        path: String,
    },
}

impl ImageRepository {
    /// Reads an `image_repository` value.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let invalid = |why: String| {
            format!(
                "`{value}` is not an image repository ({why}): expected {IMAGE_REPOSITORY_FORMS}"
            )
        };
        if value.contains('@') || value.rsplit('/').next().is_some_and(|l| l.contains(':')) {
            return Err(invalid(
                "it has a tag or digest, and deploy names the image by its digest itself".into(),
            ));
        }
        match value.split_once('/') {
            Some((host, path)) if names_a_host(host) => {
                check_registry_host(host).map_err(invalid)?;
                check_repository_path(path).map_err(invalid)?;
                Ok(ImageRepository::Registry {
                    host: host.to_string(),
                    path: path.to_string(),
                })
            }
            _ => {
                check_ecr_name(value).map_err(invalid)?;
                Ok(ImageRepository::Ecr(value.to_string()))
            }
        }
    }

    /// The ECR repository named after `function` (ECR names are lower-case): the default.
    pub fn default_for(function: &str) -> Result<Self, String> {
        let name = function.to_ascii_lowercase();
        let name = name.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        check_ecr_name(name)
            .map(|()| ImageRepository::Ecr(name.to_string()))
            .map_err(|why| {
                format!(
                    "the function name `{function}` makes no ECR repository name ({why}): set image_repository in [tool.lambdaship]"
                )
            })
    }
}

impl fmt::Display for ImageRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRepository::Ecr(name) => write!(f, "{name}"),
            ImageRepository::Registry { host, path } => write!(f, "{host}/{path}"),
        }
    }
}

/// ECR's repository names: 2-256 characters, parts as in any registry, and no doubled
/// separators (`a__b` is refused by ECR though Docker allows it).
fn check_ecr_name(name: &str) -> Result<(), String> {
    if !(2..=256).contains(&name.len()) {
        return Err(format!(
            "an ECR repository name has 2-256 characters, `{name}` has {}",
            name.len()
        ));
    }
    check_repository_path(name)?;
    let doubled = name
        .as_bytes()
        .windows(2)
        .any(|pair| pair.iter().all(|b| b"._-".contains(b)));
    if doubled {
        return Err(format!(
            "`{name}` has two separators in a row, which ECR refuses"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_ecr_repositories_and_hosts_name_registries() {
        assert_eq!(
            ImageRepository::parse("hello"),
            Ok(ImageRepository::Ecr("hello".into()))
        );
        assert_eq!(
            ImageRepository::parse("team/hello-api"),
            Ok(ImageRepository::Ecr("team/hello-api".into()))
        );
        assert_eq!(
            ImageRepository::parse("127.0.0.1:5000/apps/hello"),
            Ok(ImageRepository::Registry {
                host: "127.0.0.1:5000".into(),
                path: "apps/hello".into()
            })
        );
        assert_eq!(
            ImageRepository::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/hello")
                .map(|r| r.to_string()),
            Ok("123456789012.dkr.ecr.eu-west-1.amazonaws.com/hello".into())
        );
        for bad in [
            "",
            "h",
            "Hello",
            "hello:latest",
            "127.0.0.1:5000/hello:1",
            "host.io/x@sha256:00",
            "a__b",
            "localhost:99999/x",
            "host.io/",
        ] {
            let error = ImageRepository::parse(bad).unwrap_err();
            assert!(
                error.contains("expected an ECR repository name"),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn the_default_is_the_lower_cased_function_name() {
        assert_eq!(
            ImageRepository::default_for("Hello_API"),
            Ok(ImageRepository::Ecr("hello_api".into()))
        );
        assert!(ImageRepository::default_for("x").is_err());
    }
}
