//! Credentials for a registry, given or read from Docker's config file.
//!
//! Which scheme the registry wants is found out per request: a `Basic` challenge gets the
//! user and password directly, a `Bearer` challenge sends them to the token realm it names
//! (anonymous callers get an anonymous token there).

use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::reference::DOCKER_HUB;

/// How to authenticate to a registry.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum RegistryAuth {
    /// No credentials: public registries, or bearer realms that hand out anonymous tokens.
    #[default]
    Anonymous,
    /// A user name and password (for ECR: `AWS` and the GetAuthorizationToken password).
    Basic {
        /// The user name.
        username: String,
        /// The password or token.
        password: String,
    },
}

impl std::fmt::Debug for RegistryAuth {
    // A password must not end up in a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistryAuth::Anonymous => f.write_str("Anonymous"),
            RegistryAuth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

impl RegistryAuth {
    /// Basic credentials.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        RegistryAuth::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// Whether these are no credentials at all.
    pub fn is_anonymous(&self) -> bool {
        matches!(self, RegistryAuth::Anonymous)
    }

    /// What `docker login` saved for `registry` (`host[:port]`) in Docker's config file
    /// (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`), or anonymous when it
    /// saved nothing there. Only inline `auths` entries are read, not credential helpers.
    pub fn from_docker_config(registry: &str) -> Self {
        docker_config_path()
            .and_then(|path| Self::from_docker_config_file(&path, registry))
            .unwrap_or_default()
    }

    /// The `auths` entry for `registry` in the Docker config file at `path`, if it has one
    /// that decodes to `user:password`. An unreadable or malformed file counts as none,
    /// as the credentials are optional.
    pub fn from_docker_config_file(path: &Path, registry: &str) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        let config: serde_json::Value = serde_json::from_str(&text).ok()?;
        let auths = config.get("auths")?.as_object()?;
        let (_, entry) = auths
            .iter()
            .find(|(key, _)| config_key_host(key) == normalise_hub(registry))?;
        let encoded = entry.get("auth")?.as_str()?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (username, password) = decoded.split_once(':')?;
        Some(RegistryAuth::basic(username, password))
    }
}

fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    let home = std::env::var_os("HOME")?;
    Some(PathBuf::from(home).join(".docker").join("config.json"))
}

/// Keys are written as `host[:port]`, or as a URL (`https://index.docker.io/v1/` for Docker
/// Hub, from older clients).
fn config_key_host(key: &str) -> &str {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = without_scheme.split('/').next().unwrap_or(without_scheme);
    normalise_hub(host)
}

fn normalise_hub(host: &str) -> &str {
    match host {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB,
        other => other,
    }
}

impl From<&RegistryAuth> for oci_client::secrets::RegistryAuth {
    fn from(auth: &RegistryAuth) -> Self {
        match auth {
            RegistryAuth::Anonymous => oci_client::secrets::RegistryAuth::Anonymous,
            RegistryAuth::Basic { username, password } => {
                oci_client::secrets::RegistryAuth::Basic(username.clone(), password.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_logins_by_registry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let encode = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        std::fs::write(
            &path,
            serde_json::json!({
                "auths": {
                    "https://index.docker.io/v1/": {"auth": encode("hub-user:hub:pass")},
                    "127.0.0.1:5000": {"auth": encode("local:secret")},
                    "https://123.dkr.ecr.eu-west-1.amazonaws.com": {"auth": encode("AWS:tok")},
                    "broken.example": {"auth": "%%%"}
                },
                "credsStore": "desktop"
            })
            .to_string(),
        )
        .unwrap();
        let read = |registry| RegistryAuth::from_docker_config_file(&path, registry);
        assert_eq!(
            read("docker.io"),
            Some(RegistryAuth::basic("hub-user", "hub:pass"))
        );
        assert_eq!(
            read("127.0.0.1:5000"),
            Some(RegistryAuth::basic("local", "secret"))
        );
        assert_eq!(
            read("123.dkr.ecr.eu-west-1.amazonaws.com"),
            Some(RegistryAuth::basic("AWS", "tok"))
        );
        assert_eq!(read("127.0.0.1:5001"), None);
        assert_eq!(read("broken.example"), None);
        assert_eq!(
            RegistryAuth::from_docker_config_file(&dir.path().join("absent.json"), "docker.io"),
            None
        );
    }

    #[test]
    fn debug_output_hides_the_password() {
        let shown = format!("{:?}", RegistryAuth::basic("user", "hunter2"));
        assert!(
            shown.contains("user") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
