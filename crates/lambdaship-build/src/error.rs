//! Build errors: each names the file, package or setting at fault and the fix.

use std::path::PathBuf;

use lambdaship_project::ProjectError;

/// Why a build failed. Nothing is written to the output directory when it does.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The image built cannot be pushed (none or several built, or the registry refused).
    #[error("{0}")]
    Push(String),
    /// The project could not be read.
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// uv is neither on PATH nor importable by python3.
    #[error(
        "uv is not installed: lambdaship uses uv to resolve and install packages. Install it with `python3 -m pip install uv` (or put `uv` on PATH) and build again"
    )]
    UvMissing,
    /// uv.lock no longer matches the pyproject files.
    #[error("{lock} is out of date with pyproject.toml: run `uv lock` in {root} and build again")]
    StaleLock {
        /// The lock file.
        lock: PathBuf,
        /// Where to run `uv lock`.
        root: PathBuf,
    },
    /// A package has only a source distribution and may not be built.
    #[error(
        "package `{package}`{version} has no wheel, only a source distribution: lambdaship installs wheels only, so that nothing built for this machine lands in a Linux package.\n  fix: pick a version of `{package}` that ships wheels, or allow building it with `build_from_source = [\"{package}\"]` in [tool.lambdaship] (it must build for {target})"
    )]
    SdistOnly {
        /// The package name.
        package: String,
        /// ` VERSION`, or empty.
        version: String,
        /// The target, described.
        target: String,
    },
    /// A package has wheels, none for the target.
    #[error(
        "package `{package}`{version} has no wheel for {target}{available}\n  fix: pick a version of `{package}` with wheels for this runtime and architecture, or change `runtime`/`architecture` in [tool.lambdaship] (python3.9-3.11 take manylinux wheels up to glibc 2.17, python3.12 and later up to 2.34)"
    )]
    NoWheelForTarget {
        /// The package name.
        package: String,
        /// ` VERSION`, or empty.
        version: String,
        /// The target, described.
        target: String,
        /// What wheels exist, as a sentence tail, or empty.
        available: String,
    },
    /// No wheel fits the target, and without a lock it is unknown whether any exists.
    #[error(
        "package `{package}`{version} has no wheel usable on {target}: either none of its wheels is built for it, or it has only a source distribution.\n  fix: pick a version of `{package}` with wheels for this runtime and architecture, or allow building it with `build_from_source = [\"{package}\"]` in [tool.lambdaship]"
    )]
    NoUsableWheel {
        /// The package name.
        package: String,
        /// ` VERSION`, or empty.
        version: String,
        /// The target, described.
        target: String,
    },
    /// uv failed for another reason.
    #[error("`uv {action}` failed:\n{message}")]
    Uv {
        /// The uv subcommand.
        action: String,
        /// What uv printed.
        message: String,
    },
    /// The bytecode compiler failed as a whole (not one file).
    #[error(
        "the bytecode compiler {python} failed:\n{message}\n  fix: pass --no-bytecode to build without bytecode"
    )]
    Compiler {
        /// The interpreter.
        python: String,
        /// What it printed.
        message: String,
    },
    /// A program could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The handler's module is in none of the function's archives.
    #[error(
        "function `{function}`: handler `{handler}` names module `{module}`, but the package has none of {candidates}\n  fix: set `handler` (and `include` if the code lives elsewhere) in [tool.lambdaship] of {config}"
    )]
    HandlerNotFound {
        /// The function name.
        function: String,
        /// The handler.
        handler: String,
        /// The handler's module.
        module: String,
        /// The files looked for.
        candidates: String,
        /// The configuration file.
        config: String,
    },
    /// A web function's command cannot run on Lambda.
    #[error(
        "function `{function}`: the web command `{command}` cannot run: {message}\n  fix: `web` in [tool.lambdaship] of {config}"
    )]
    WebCommand {
        /// The function name.
        function: String,
        /// The command as written.
        command: String,
        /// What is wrong.
        message: String,
        /// The configuration file.
        config: String,
    },
    /// No adapter binary for a web function's architecture was found.
    #[error(
        "function `{function}` is a web app (`web` in [tool.lambdaship]) and its package needs lambdaship's adapter built for {architecture} Linux; none was found (looked at {looked})\n  fix: run `scripts/build-adapter {architecture}` in lambdaship's source tree (it builds the adapter with cargo-zigbuild for glibc 2.26, what Amazon Linux 2 has) or set {variable} to the adapter's path"
    )]
    AdapterMissing {
        /// The function name.
        function: String,
        /// The function's architecture.
        architecture: lambdaship_project::Architecture,
        /// The places looked at.
        looked: String,
        /// The variable that names the adapter.
        variable: &'static str,
    },
    /// The adapter binary found cannot run on Lambda.
    #[error(
        "function `{function}`: the adapter at {path} cannot go into a Lambda package: {reason}\n  fix: run `scripts/build-adapter {architecture}` in lambdaship's source tree, or set {variable} to a suitable adapter"
    )]
    AdapterUnusable {
        /// The function name.
        function: String,
        /// The adapter's path.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
        /// The function's architecture.
        architecture: lambdaship_project::Architecture,
        /// The variable that names the adapter.
        variable: &'static str,
    },
    /// An `include` path does not exist.
    #[error(
        "function `{function}`: include path `{path}` does not exist in {dir}: fix `include` in [tool.lambdaship]"
    )]
    IncludeMissing {
        /// The function name.
        function: String,
        /// The path as configured.
        path: String,
        /// The project directory.
        dir: PathBuf,
    },
    /// A native library is built for another architecture.
    #[error(
        "{file} is a native library for {found}, but function `{function}` runs on {expected}: a wheel or a local build for the wrong machine got in.\n  fix: make sure its package has wheels for {expected}, or build it for that architecture"
    )]
    WrongArchitecture {
        /// The archive path of the library.
        file: String,
        /// Its architecture.
        found: String,
        /// The function's architecture.
        expected: String,
        /// The function name.
        function: String,
    },
    /// Function and layers are over Lambda's unzipped limit.
    #[error(
        "function `{function}` is {size_mb:.1} MB unzipped with its layers; Lambda allows 250 MB (262144000 bytes). Largest packages:\n{largest}\n  fix: drop unused dependencies, leave files out with `exclude`, or deploy as a container image (up to 10 GB)"
    )]
    TooLarge {
        /// The function name.
        function: String,
        /// The unzipped size in MB.
        size_mb: f64,
        /// The largest top-level packages, one per line.
        largest: String,
    },
    /// More than five layers.
    #[error(
        "function `{function}` would have {count} layers; Lambda allows 5: remove entries from `layers` in [tool.lambdaship] or use layout = \"zip\""
    )]
    TooManyLayers {
        /// The function name.
        function: String,
        /// The number of layers.
        count: usize,
    },
    /// A container image (with `layout = "image"`) over Lambda's 10 GB.
    #[error(
        "function `{function}` is {size_mb:.1} MB uncompressed in the layers lambdaship adds; Lambda allows 10 GB for a container image with its base. Largest packages:\n{largest}\n  fix: drop unused dependencies, or leave files out with `exclude`"
    )]
    ImageTooLarge {
        /// The function.
        function: String,
        /// Its size in MB.
        size_mb: f64,
        /// The largest top-level entries, one per line.
        largest: String,
    },
    /// `layout = "image"` with Lambda layers attached, which images cannot use.
    #[error(
        "function `{function}` has layout = \"image\" and attaches `layers`, but Lambda runs no layers with a container image\n  fix: remove `layers` from [tool.lambdaship] of {config} (put what they hold in the project's dependencies), or use layout = \"zip\""
    )]
    ImageWithLayers {
        /// The function.
        function: String,
        /// The configuration file.
        config: String,
    },
    /// The base image path does not exist.
    #[error(
        "function `{function}`: the base image {path} does not exist\n  fix: set `base_image` in [tool.lambdaship] of {config}, or pass --base-image, to an OCI image layout directory or a docker-archive tar (`oci:PATH`, `docker-archive:PATH`), e.g. one made with `skopeo copy docker://public.ecr.aws/lambda/python:3.13 oci:base`"
    )]
    BaseImageMissing {
        /// The function.
        function: String,
        /// The path given.
        path: PathBuf,
        /// The configuration file.
        config: String,
    },
    /// A base image that cannot be pulled from its registry.
    #[error(
        "function `{function}`: cannot pull the base image {reference}: {reason}\n  fix: make the registry reachable (credentials come from ~/.docker/config.json or $DOCKER_CONFIG), or provide the base image offline: on a machine that reaches the registry run `skopeo copy docker://{reference} oci:base` (or `docker save {reference} -o base.tar`), then set `base_image = \"base\"` in [tool.lambdaship] of {config} or pass --base-image PATH (an OCI image layout directory or a docker-archive tar)"
    )]
    BaseImagePull {
        /// The function.
        function: String,
        /// The registry reference.
        reference: String,
        /// Why the pull failed.
        reason: String,
        /// The configuration file.
        config: String,
    },
    /// A base image or an image output that cannot be read, composed or written.
    #[error("function `{function}`: {source}")]
    Image {
        /// The function.
        function: String,
        /// What went wrong.
        #[source]
        source: lambdaship_image::ImageError,
    },
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done, e.g. `cannot write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl BuildError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        BuildError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
