//! The distribution client against a real registry (Debian's docker-registry on loopback),
//! with skopeo as the independent judge of what was pushed and as the way test images get
//! into the registry.

#![allow(clippy::unwrap_used)]

mod support;

use lambdaship_image::{
    BlobStore, ImageToPush, Platform, Reference, RegistryAuth, RegistryError, pull_blocking,
    push_blocking,
};
use support::{Auth, PASSWORD, Registry, TestImage, USER, make_image, make_index, skopeo};

fn reference(registry: &Registry, repository_and_tag: &str) -> Reference {
    format!("{}/{repository_and_tag}", registry.host())
        .parse()
        .unwrap()
}

/// Puts `image` (and for an index, every image under it) into the registry with skopeo.
fn skopeo_push(store: &BlobStore, tag: &str, target: &str, extra: &[&str]) {
    let source = format!("oci:{}:{tag}", store.root().display());
    let destination = format!("docker://{target}");
    // Without --preserve-digests skopeo gzips uncompressed layers on the way, which would
    // give the registry another manifest than the one made here.
    let mut args = vec![
        "copy",
        "--all",
        "--preserve-digests",
        "--dest-tls-verify=false",
    ];
    args.extend_from_slice(extra);
    args.extend([source.as_str(), destination.as_str()]);
    skopeo(&args);
}

fn push_image(
    store: &BlobStore,
    target: &Reference,
    image: &TestImage,
    auth: &RegistryAuth,
) -> Result<lambdaship_image::PushReport, RegistryError> {
    push_blocking(
        store,
        target,
        ImageToPush {
            manifest: &image.manifest,
            media_type: "application/vnd.oci.image.manifest.v1+json",
            blobs: &image.blobs(),
        },
        auth,
    )
}

#[test]
fn pulls_a_single_manifest_and_the_right_platform_from_an_index() {
    let registry = Registry::start(Auth::None);
    let source_dir = tempfile::tempdir().unwrap();
    let source = BlobStore::new(source_dir.path());
    let amd64 = make_image(&source, "amd64", &[("var/task/app.py", "print('x86')\n")]);
    let arm64 = make_image(&source, "arm64", &[("var/task/app.py", "print('arm')\n")]);
    let (index, index_digest) = make_index(&source, &[(&amd64, "amd64"), (&arm64, "arm64")]);
    support::write_layout(
        &source,
        &[
            ("single", amd64.descriptor()),
            ("arm", arm64.descriptor()),
            ("multi", support::index_descriptor(&index, index_digest)),
        ],
    );
    for tag in ["single", "arm", "multi"] {
        skopeo_push(
            &source,
            tag,
            &format!("{}/base:{tag}", registry.host()),
            &[],
        );
    }

    let cache_dir = tempfile::tempdir().unwrap();
    let cache = BlobStore::new(cache_dir.path());
    let anonymous = RegistryAuth::Anonymous;
    let single = reference(&registry, "base:single");
    let pulled = pull_blocking(&single, &Platform::linux_amd64(), &cache, &anonymous).unwrap();
    assert_eq!(pulled.manifest_digest, amd64.manifest_digest);
    assert_eq!(pulled.manifest, amd64.manifest);
    assert_eq!(
        pulled.media_type,
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(pulled.config, amd64.config);
    assert_eq!(pulled.layers, amd64.layers);
    assert_eq!(pulled.reference.digest(), Some(&amd64.manifest_digest));
    assert_eq!(pulled.fetched, 2, "config and layer");
    for digest in [
        amd64.manifest_digest,
        digest_of(&amd64.config),
        digest_of(&amd64.layers[0]),
    ] {
        assert!(cache.contains(&digest), "{digest} is in the store");
    }
    let again = pull_blocking(&single, &Platform::linux_amd64(), &cache, &anonymous).unwrap();
    assert_eq!((again.fetched, again.bytes_fetched), (0, 0), "fetched once");

    let multi = reference(&registry, "base:multi");
    let pulled = pull_blocking(&multi, &Platform::linux_arm64(), &cache, &anonymous).unwrap();
    assert_eq!(pulled.manifest_digest, arm64.manifest_digest);
    assert_eq!(pulled.config, arm64.config);
    let pulled = pull_blocking(
        &multi,
        &Platform::new("linux", "x86_64"),
        &cache,
        &anonymous,
    );
    assert_eq!(pulled.unwrap().manifest_digest, amd64.manifest_digest);

    let by_digest = single.with_digest(amd64.manifest_digest);
    let by_digest = Reference::new(
        by_digest.registry(),
        by_digest.repository(),
        None,
        by_digest.digest().copied(),
    )
    .unwrap();
    let pulled = pull_blocking(&by_digest, &Platform::linux_amd64(), &cache, &anonymous);
    assert_eq!(pulled.unwrap().manifest_digest, amd64.manifest_digest);

    let error =
        pull_blocking(&multi, &Platform::new("linux", "s390x"), &cache, &anonymous).unwrap_err();
    assert!(matches!(error, RegistryError::NoMatchingPlatform { .. }));
    let message = error.to_string();
    assert!(
        message.contains("no image for linux/s390x")
            && message.contains("linux/amd64, linux/arm64"),
        "{message}"
    );

    let arm = reference(&registry, "base:arm");
    let error = pull_blocking(&arm, &Platform::linux_amd64(), &cache, &anonymous).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("the image {arm} is for arm64, the function targets x86_64 (amd64)")
    );
}

fn digest_of(descriptor: &oci_spec::image::Descriptor) -> lambdaship_image::Digest {
    descriptor.digest().to_string().parse().unwrap()
}

#[test]
fn pushes_what_skopeo_reads_back_and_skips_what_the_registry_has() {
    let registry = Registry::start(Auth::None);
    let store_dir = tempfile::tempdir().unwrap();
    let store = BlobStore::new(store_dir.path());
    let image = make_image(
        &store,
        "amd64",
        &[
            ("var/task/requirements.txt", "fastapi\n"),
            ("var/task/app.py", "def handler(e, c):\n    return 1\n"),
        ],
    );
    let target = reference(&registry, "team/app:v1");
    let anonymous = RegistryAuth::Anonymous;

    let report = push_image(&store, &target, &image, &anonymous).unwrap();
    assert_eq!(report.manifest_digest, image.manifest_digest);
    assert_eq!((report.uploaded, report.skipped), (3, 0));
    assert!(!report.already_tagged);
    let blob_bytes: u64 = image.blobs().iter().map(|b| b.size()).sum();
    assert_eq!(report.bytes_sent, blob_bytes);

    let inspected = skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{target}"),
    ]);
    let inspected: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(inspected["Digest"], image.manifest_digest.to_string());
    assert_eq!(inspected["Architecture"], "amd64");
    let layers: Vec<String> = image
        .layers
        .iter()
        .map(|l| l.digest().to_string())
        .collect();
    assert_eq!(inspected["Layers"], serde_json::json!(layers));

    let copy_dir = tempfile::tempdir().unwrap();
    let copy = copy_dir.path().join("layout");
    skopeo(&[
        "copy",
        "--preserve-digests",
        "--src-tls-verify=false",
        &format!("docker://{target}"),
        &format!("oci:{}:v1", copy.display()),
    ]);
    let copied = BlobStore::new(&copy);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(copy.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        index["manifests"][0]["digest"],
        image.manifest_digest.to_string()
    );
    let config_digest = digest_of(&image.config);
    assert_eq!(
        copied.read(&config_digest).unwrap(),
        store.read(&config_digest).unwrap()
    );

    let again = push_image(&store, &target, &image, &anonymous).unwrap();
    assert_eq!((again.uploaded, again.skipped, again.bytes_sent), (0, 3, 0));
    assert!(
        again.already_tagged,
        "one HEAD of the tag is the whole push"
    );

    // An app edit: the dependency layer stays, the app layer and (through diff_ids) the
    // config change.
    let edited = make_image(
        &store,
        "amd64",
        &[
            ("var/task/requirements.txt", "fastapi\n"),
            ("var/task/app.py", "def handler(e, c):\n    return 2\n"),
        ],
    );
    assert_eq!(edited.layers[0], image.layers[0]);
    let report = push_image(
        &store,
        &reference(&registry, "team/app:v2"),
        &edited,
        &anonymous,
    )
    .unwrap();
    assert_eq!((report.uploaded, report.skipped), (2, 1));
    assert!(!report.already_tagged);
    assert_eq!(
        report.bytes_sent,
        edited.layers[1].size() + edited.config.size()
    );
}

#[test]
fn push_refuses_blobs_missing_from_the_store_before_talking_to_the_registry() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = BlobStore::new(store_dir.path());
    let image = make_image(&store, "amd64", &[("a", "b")]);
    std::fs::remove_file(store.path(&digest_of(&image.layers[0]))).unwrap();
    let target: Reference = format!("127.0.0.1:{}/app:v1", support::free_port())
        .parse()
        .unwrap();
    let error = push_image(&store, &target, &image, &RegistryAuth::Anonymous).unwrap_err();
    assert!(
        matches!(error, RegistryError::MissingBlob { .. }),
        "{error}"
    );
}

#[test]
fn push_needs_a_tag() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = BlobStore::new(store_dir.path());
    let image = make_image(&store, "amd64", &[("a", "b")]);
    let target: Reference = format!("127.0.0.1:1/app@{}", image.manifest_digest)
        .parse()
        .unwrap();
    let error = push_image(&store, &target, &image, &RegistryAuth::Anonymous).unwrap_err();
    assert!(error.to_string().contains("push to a tag"), "{error}");
}

#[test]
fn basic_auth_takes_the_right_credentials_and_names_the_registry_otherwise() {
    let registry = Registry::start(Auth::Htpasswd);
    let store_dir = tempfile::tempdir().unwrap();
    let store = BlobStore::new(store_dir.path());
    let image = make_image(&store, "amd64", &[("var/task/app.py", "x = 1\n")]);
    let target = reference(&registry, "private/app:v1");
    let good = RegistryAuth::basic(USER, PASSWORD);

    let report = push_image(&store, &target, &image, &good).unwrap();
    assert_eq!(report.uploaded, 2);
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = BlobStore::new(cache_dir.path());
    let pulled = pull_blocking(&target, &Platform::linux_amd64(), &cache, &good).unwrap();
    assert_eq!(pulled.manifest_digest, image.manifest_digest);

    let wrong = RegistryAuth::basic(USER, "not-the-password");
    for error in [
        push_image(&store, &target, &image, &wrong).unwrap_err(),
        pull_blocking(&target, &Platform::linux_amd64(), &cache, &wrong).unwrap_err(),
    ] {
        assert!(
            matches!(
                &error,
                RegistryError::Unauthorized {
                    anonymous: false,
                    ..
                }
            ),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains(&registry.host())
                && message.contains("`private/app`")
                && message.contains("refused the credentials"),
            "{message}"
        );
    }

    for error in [
        push_image(&store, &target, &image, &RegistryAuth::Anonymous).unwrap_err(),
        pull_blocking(
            &target,
            &Platform::linux_amd64(),
            &cache,
            &RegistryAuth::Anonymous,
        )
        .unwrap_err(),
    ] {
        let message = error.to_string();
        assert!(
            matches!(
                &error,
                RegistryError::Unauthorized {
                    anonymous: true,
                    ..
                }
            ) && message.contains("refused anonymous access")
                && message.contains("user name and password"),
            "{message}"
        );
    }
}

#[test]
fn bearer_tokens_come_from_the_realm_with_the_credentials() {
    let registry = Registry::start(Auth::Token);
    let store_dir = tempfile::tempdir().unwrap();
    let store = BlobStore::new(store_dir.path());
    let image = make_image(&store, "arm64", &[("var/task/app.py", "y = 2\n")]);
    let target = reference(&registry, "tokens/app:v1");
    let good = RegistryAuth::basic(USER, PASSWORD);

    let report = push_image(&store, &target, &image, &good)
        .unwrap_or_else(|e| panic!("{e}\nregistry log:\n{}", registry.log()));
    assert_eq!(report.uploaded, 2);
    let again = push_image(&store, &target, &image, &good).unwrap();
    assert_eq!(again.skipped, 2);
    assert!(again.already_tagged);
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = BlobStore::new(cache_dir.path());
    let pulled = pull_blocking(&target, &Platform::linux_arm64(), &cache, &good).unwrap();
    assert_eq!(pulled.manifest_digest, image.manifest_digest);

    let wrong = RegistryAuth::basic(USER, "nope");
    let error = pull_blocking(&target, &Platform::linux_arm64(), &cache, &wrong).unwrap_err();
    assert!(
        matches!(
            &error,
            RegistryError::Unauthorized {
                anonymous: false,
                ..
            }
        ),
        "{error:?}"
    );
    let error = push_image(&store, &target, &image, &wrong).unwrap_err();
    assert!(
        matches!(
            &error,
            RegistryError::Unauthorized {
                anonymous: false,
                ..
            }
        ),
        "{error:?}"
    );
    let error = pull_blocking(
        &target,
        &Platform::linux_arm64(),
        &cache,
        &RegistryAuth::Anonymous,
    )
    .unwrap_err();
    assert!(
        matches!(
            &error,
            RegistryError::Unauthorized {
                anonymous: true,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn names_what_is_not_found_and_what_cannot_be_reached() {
    let registry = Registry::start(Auth::None);
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = BlobStore::new(cache_dir.path());
    let anonymous = RegistryAuth::Anonymous;
    for missing in [
        "nothing/here:v1",
        "nothing/here@sha256:0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let missing = reference(&registry, missing);
        let error =
            pull_blocking(&missing, &Platform::linux_amd64(), &cache, &anonymous).unwrap_err();
        assert!(
            matches!(error, RegistryError::ManifestNotFound { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains(&missing.to_string()), "{error}");
    }

    let port = support::free_port();
    let nowhere: Reference = format!("127.0.0.1:{port}/app:v1").parse().unwrap();
    let error = pull_blocking(&nowhere, &Platform::linux_amd64(), &cache, &anonymous).unwrap_err();
    assert!(
        matches!(error, RegistryError::Unreachable { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("127.0.0.1:{port}")) && message.contains("refused"),
        "{message}"
    );
}

#[test]
fn blocking_calls_refuse_to_run_inside_a_runtime() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = BlobStore::new(cache_dir.path());
    let reference: Reference = "127.0.0.1:1/app".parse().unwrap();
    let error = runtime.block_on(async {
        pull_blocking(
            &reference,
            &Platform::linux_amd64(),
            &cache,
            &RegistryAuth::Anonymous,
        )
        .unwrap_err()
    });
    assert!(matches!(error, RegistryError::Runtime(_)), "{error:?}");
}

#[test]
fn pulls_docker_v2s2_manifests_and_manifest_lists() {
    let registry = Registry::start(Auth::None);
    let source_dir = tempfile::tempdir().unwrap();
    let source = BlobStore::new(source_dir.path());
    let amd64 = make_image(&source, "amd64", &[("var/task/app.py", "print(1)\n")]);
    let arm64 = make_image(&source, "arm64", &[("var/task/app.py", "print(2)\n")]);
    let (index, index_digest) = make_index(&source, &[(&amd64, "amd64"), (&arm64, "arm64")]);
    support::write_layout(
        &source,
        &[
            ("single", amd64.descriptor()),
            ("multi", support::index_descriptor(&index, index_digest)),
        ],
    );
    for tag in ["single", "multi"] {
        // Converted by skopeo to Docker's format (and its layers gzipped).
        skopeo(&[
            "copy",
            "--all",
            "--format",
            "v2s2",
            "--dest-tls-verify=false",
            &format!("oci:{}:{tag}", source.root().display()),
            &format!("docker://{}/docker:{tag}", registry.host()),
        ]);
    }

    let cache_dir = tempfile::tempdir().unwrap();
    let cache = BlobStore::new(cache_dir.path());
    for (tag, platform) in [
        ("single", Platform::linux_amd64()),
        ("multi", Platform::linux_arm64()),
    ] {
        let target = reference(&registry, &format!("docker:{tag}"));
        let pulled = pull_blocking(&target, &platform, &cache, &RegistryAuth::Anonymous).unwrap();
        assert_eq!(
            pulled.media_type,
            "application/vnd.docker.distribution.manifest.v2+json"
        );
        let raw = skopeo(&[
            "inspect",
            "--raw",
            "--tls-verify=false",
            // skopeo takes no reference with both tag and digest.
            &format!(
                "docker://{}/{}@{}",
                registry.host(),
                pulled.reference.repository(),
                pulled.manifest_digest
            ),
        ]);
        assert_eq!(pulled.manifest, raw.stdout);
        assert_eq!(
            pulled.manifest_digest,
            lambdaship_image::Digest::of(&raw.stdout)
        );
        assert_eq!(
            pulled.config.media_type().to_string(),
            "application/vnd.docker.container.image.v1+json"
        );
        let config: serde_json::Value =
            serde_json::from_slice(&cache.read(&digest_of(&pulled.config)).unwrap()).unwrap();
        assert_eq!(config["architecture"], platform.architecture);
        for layer in &pulled.layers {
            assert!(cache.contains(&digest_of(layer)));
        }
    }
}
