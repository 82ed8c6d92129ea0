//! Real peers for the registry tests: Debian's docker-registry on a free loopback port (no
//! auth, htpasswd, or token auth with a small token server), skopeo, and tiny images made
//! by hand in a blob store that doubles as an OCI image layout.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lambdaship_image::{BlobStore, Digest};
use oci_spec::image::Descriptor;
use serde_json::json;

pub const USER: &str = "builder";
pub const PASSWORD: &str = "secret";
/// bcrypt (cost 4, to keep the registry's checks fast) of PASSWORD, made once with Python's
/// crypt so the tests need no bcrypt tool.
const PASSWORD_BCRYPT: &str = "$2b$04$8pNiOFFqdi1vtJjbcBbgYeD28bgo8SoQUQ9D0v1xSyl2XZR7Gt3NW";
/// The registry login moto's ECR hands out for its default account (GetAuthorizationToken
/// answers `AWS:ACCOUNT-auth-token`), and its bcrypt, made as PASSWORD_BCRYPT was.
pub const ECR_USER: &str = "AWS";
pub const ECR_PASSWORD: &str = "123456789012-auth-token";
const ECR_PASSWORD_BCRYPT: &str = "$2b$04$/8zKY1mIaxg6KZThjmts6.VWm115HbLGaprxE3j.iCKpW.0vV.VY6";
const STARTUP: Duration = Duration::from_secs(30);

/// How the registry under test authenticates.
pub enum Auth {
    None,
    Htpasswd,
    /// htpasswd with the login moto's ECR hands out.
    EcrLogin,
    /// Token auth, with a token server started beside it.
    Token,
}

/// A docker-registry process on 127.0.0.1, killed on drop.
pub struct Registry {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
    token_server: Option<Child>,
}

impl Registry {
    pub fn start(auth: Auth) -> Registry {
        let mut dir = tempfile::tempdir().unwrap();
        let mut token_server = None;
        let auth_section = match auth {
            Auth::None => String::new(),
            Auth::Htpasswd | Auth::EcrLogin => {
                let line = match auth {
                    Auth::EcrLogin => format!("{ECR_USER}:{ECR_PASSWORD_BCRYPT}\n"),
                    _ => format!("{USER}:{PASSWORD_BCRYPT}\n"),
                };
                let htpasswd = dir.path().join("htpasswd");
                std::fs::write(&htpasswd, line).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: test-realm\n    path: {}\n",
                    htpasswd.display()
                )
            }
            Auth::Token => {
                let (child, port) = start_token_server(dir.path());
                token_server = Some(child);
                format!(
                    "auth:\n  token:\n    realm: http://127.0.0.1:{port}/token\n    \
                     service: test-registry\n    issuer: test-issuer\n    rootcertbundle: {}\n",
                    dir.path().join("token.pem").display()
                )
            }
        };
        // A port found free may be taken before the registry binds it: try a few.
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
                     storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                     http:\n  addr: 127.0.0.1:{port}\n{auth_section}",
                    dir.path().join("data").display()
                ),
            )
            .unwrap();
            let child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.path().join("registry.log")).unwrap())
                .spawn()
                .expect("docker-registry (Debian's package) must be installed");
            let mut registry = Registry {
                port,
                dir,
                child,
                token_server,
            };
            if registry.wait_until_up() {
                return registry;
            }
            // Dropping would remove the directory, which the next try reuses.
            let _ = registry.child.kill();
            let _ = registry.child.wait();
            dir = std::mem::replace(&mut registry.dir, tempfile::tempdir().unwrap());
            token_server = registry.token_server.take();
        }
        panic!("docker-registry did not start; see its log in a failed run");
    }

    /// Polls GET /v2/ until any HTTP answer (200, or 401 with auth), within a deadline.
    fn wait_until_up(&mut self) -> bool {
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if http_status(self.port, "/v2/").is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(mut token_server) = self.token_server.take() {
            let _ = token_server.kill();
            let _ = token_server.wait();
        }
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

fn start_token_server(dir: &Path) -> (Child, u16) {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/venv/bin/python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/token_server.py");
    let mut child = Command::new(python)
        .arg(script)
        .arg(dir)
        .args([USER, PASSWORD, "test-registry", "test-issuer"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = send.send(line);
    });
    match receive.recv_timeout(STARTUP) {
        Ok(line) if line.trim().parse::<u16>().is_ok() => {
            let port = line.trim().parse().unwrap();
            (child, port)
        }
        other => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the token server did not start: {other:?}");
        }
    }
}

/// Runs skopeo (no signature policy: these are throw-away images), failing the test with its
/// output when it fails.
pub fn skopeo(args: &[&str]) -> Output {
    let output = Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("skopeo (Debian's package) must be installed");
    assert!(
        output.status.success(),
        "skopeo {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// An image made by hand in a blob store whose root is also an OCI image layout.
#[derive(Debug, Clone)]
pub struct TestImage {
    pub manifest: Vec<u8>,
    pub manifest_digest: Digest,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

impl TestImage {
    pub fn blobs(&self) -> Vec<Descriptor> {
        let mut blobs = vec![self.config.clone()];
        blobs.extend(self.layers.iter().cloned());
        blobs
    }

    pub fn descriptor(&self) -> Descriptor {
        descriptor(
            "application/vnd.oci.image.manifest.v1+json",
            &self.manifest,
            self.manifest_digest,
        )
    }
}

fn descriptor(media_type: &str, bytes: &[u8], digest: Digest) -> Descriptor {
    serde_json::from_value(json!({
        "mediaType": media_type,
        "size": bytes.len(),
        "digest": digest.to_string(),
    }))
    .unwrap()
}

/// An image for `architecture` with one layer per `(path, content)` file.
pub fn make_image(store: &BlobStore, architecture: &str, files: &[(&str, &str)]) -> TestImage {
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for (path, content) in files {
        let tar = one_file_tar(path, content.as_bytes());
        let digest = store.put(&tar).unwrap();
        diff_ids.push(digest.to_string());
        layers.push(descriptor(
            "application/vnd.oci.image.layer.v1.tar",
            &tar,
            digest,
        ));
    }
    let config = serde_json::to_vec(&json!({
        "architecture": architecture,
        "os": "linux",
        "config": {"Cmd": ["app.main.handler"], "WorkingDir": "/var/task"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let config_digest = store.put(&config).unwrap();
    let config = descriptor(
        "application/vnd.oci.image.config.v1+json",
        &config,
        config_digest,
    );
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": layers,
    }))
    .unwrap();
    let manifest_digest = store.put(&manifest).unwrap();
    TestImage {
        manifest,
        manifest_digest,
        config,
        layers,
    }
}

/// An image index over `images` (each with its architecture), stored as a blob.
pub fn make_index(store: &BlobStore, images: &[(&TestImage, &str)]) -> (Vec<u8>, Digest) {
    let manifests: Vec<_> = images
        .iter()
        .map(|(image, architecture)| {
            let mut entry = serde_json::to_value(image.descriptor()).unwrap();
            entry["platform"] = json!({"os": "linux", "architecture": architecture});
            entry
        })
        .collect();
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }))
    .unwrap();
    let digest = store.put(&index).unwrap();
    (index, digest)
}

/// Writes the layout's `oci-layout` and an `index.json` naming each `(tag, descriptor)`.
pub fn write_layout(store: &BlobStore, tags: &[(&str, Descriptor)]) {
    std::fs::write(
        store.root().join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let manifests: Vec<_> = tags
        .iter()
        .map(|(tag, descriptor)| {
            let mut entry = serde_json::to_value(descriptor).unwrap();
            entry["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
            entry
        })
        .collect();
    std::fs::write(
        store.root().join("index.json"),
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": manifests})).unwrap(),
    )
    .unwrap();
}

pub fn index_descriptor(bytes: &[u8], digest: Digest) -> Descriptor {
    descriptor("application/vnd.oci.image.index.v1+json", bytes, digest)
}

/// A ustar archive holding one regular file.
fn one_file_tar(path: &str, content: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..path.len()].copy_from_slice(path.as_bytes());
    let mut field = |offset: usize, text: String| {
        header[offset..offset + text.len()].copy_from_slice(text.as_bytes());
    };
    field(100, "0000644\0".into());
    field(108, "0000000\0".into());
    field(116, "0000000\0".into());
    field(124, format!("{:011o}\0", content.len()));
    field(136, "00000000000\0".into());
    field(257, "ustar\0".into());
    field(263, "00".into());
    header[156] = b'0';
    header[148..156].fill(b' ');
    let checksum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{checksum:06o}\0 ").as_bytes());
    let mut tar = header.to_vec();
    tar.extend_from_slice(content);
    tar.resize(tar.len().div_ceil(512) * 512 + 1024, 0);
    tar
}

/// The path of a directory inside a temporary one, for skopeo's OCI layouts.
pub fn layout_dir(parent: &Path, name: &str) -> PathBuf {
    parent.join(name)
}
