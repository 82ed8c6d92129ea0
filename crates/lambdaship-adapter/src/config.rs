//! The adapter's configuration, read from the environment variables of the AWS Lambda Web
//! Adapter (LWA), with LWA's meanings and defaults (see [`vars`] for the names).
//!
//! # Differences from LWA, on purpose
//!
//! | Situation | LWA | lambdaship |
//! |---|---|---|
//! | A malformed value | Falls back without failing: an unknown protocol becomes `http`, an unknown invoke mode `buffered`, a boolean other than `true` becomes `false`, malformed status parts are skipped, a malformed timeout is ignored with a log line | Startup fails with an error naming the variable, the value and the accepted values |
//! | `AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS` | Removed in 1.0 and ignored | An error giving the equivalent `AWS_LWA_READINESS_CHECK_HEALTHY_STATUS` (`500` → `100-499`) |
//! | The readiness wait | Unbounded unless `AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS` is set; `0` or a negative value also mean unbounded | Bounded by default ([`DEFAULT_READINESS_TIMEOUT`], 30 s); `0` and negative values are errors; at most [`MAX_SECONDS`] |
//! | An app that never becomes ready | Logs "app is not ready after N ms" forever (LWA #575: `/` answering 500) | After the timeout, an error naming host, port, path, protocol, time waited, attempts and the last outcome, e.g. "answered 500 (healthy is 100-499)" |
//! | Booleans | `true` only (Rust's `bool` parser: `True` and `1` are false) | `true`, `false`, `1`, `0`, any case |
//! | Status codes and ranges | Any number up to 65535; a reversed range is silently empty | 100 to 599, low ≤ high, no empty entries |
//! | Ports | Pasted into a URL as text | 1 to 65535, digits only |
//! | Paths | Pasted into a URL as text | Must start with `/`; no spaces, control or non-ASCII characters, no `#`; `?` only in the readiness path |
//! | Host, runtime API proxy, authorization header name | Used as given | Checked: a host name or IP address; `host:port`; an HTTP header name |
//! | Timeouts in seconds | Any float | Decimal digits with an optional fraction (`4`, `0.5`), at most [`MAX_SECONDS`] |
//! | An empty value (`AWS_LWA_PORT=`) | Used as the value | Treated as unset, with a warning |
//! | Spaces around a value (`"8080 "`) | Kept | Trimmed |
//! | Both a deprecated name and its `AWS_LWA_` name set | The prefixed name wins, silently | The prefixed name wins, with a warning that the old one is ignored |
//! | A value that is not UTF-8 | Treated as unset | Through [`process_env`], an error naming the variable |
//!
//! | `AWS_LWA_ENABLE_COMPRESSION` with `response_stream` | Turned off, with a warning | Streamed responses are gzipped chunk by chunk, each chunk flushed |
//!
//! Same as LWA: the prefixed name wins over the older one; the unprefixed names other than
//! `PORT` are deprecated and warned about.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;
use std::time::Duration;

use crate::readiness::ReadinessCheck;

/// The names of the environment variables the adapter reads.
pub mod vars {
    /// Port the app listens on. Older name: `PORT` (not deprecated).
    pub const PORT: &str = "AWS_LWA_PORT";
    /// Host the adapter connects to. Older name: `HOST` (deprecated).
    pub const HOST: &str = "AWS_LWA_HOST";
    /// Port of the readiness check. Older name: `READINESS_CHECK_PORT` (deprecated).
    pub const READINESS_CHECK_PORT: &str = "AWS_LWA_READINESS_CHECK_PORT";
    /// Path of the readiness GET. Older name: `READINESS_CHECK_PATH` (deprecated).
    pub const READINESS_CHECK_PATH: &str = "AWS_LWA_READINESS_CHECK_PATH";
    /// `http` or `tcp`. Older name: `READINESS_CHECK_PROTOCOL` (deprecated).
    pub const READINESS_CHECK_PROTOCOL: &str = "AWS_LWA_READINESS_CHECK_PROTOCOL";
    /// Statuses that mean the app is ready.
    pub const READINESS_CHECK_HEALTHY_STATUS: &str = "AWS_LWA_READINESS_CHECK_HEALTHY_STATUS";
    /// Removed in LWA 1.0: an error here.
    pub const READINESS_CHECK_MIN_UNHEALTHY_STATUS: &str =
        "AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS";
    /// Bound of the readiness wait, in seconds.
    pub const READINESS_CHECK_TIMEOUT_SECONDS: &str = "AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS";
    /// Asynchronous init. Older name: `ASYNC_INIT` (deprecated).
    pub const ASYNC_INIT: &str = "AWS_LWA_ASYNC_INIT";
    /// Prefix stripped from request paths. Older name: `REMOVE_BASE_PATH` (deprecated).
    pub const REMOVE_BASE_PATH: &str = "AWS_LWA_REMOVE_BASE_PATH";
    /// Path non-HTTP events are POSTed to.
    pub const PASS_THROUGH_PATH: &str = "AWS_LWA_PASS_THROUGH_PATH";
    /// `buffered` or `response_stream`.
    pub const INVOKE_MODE: &str = "AWS_LWA_INVOKE_MODE";
    /// Response compression (gzip; buffered and streamed responses).
    pub const ENABLE_COMPRESSION: &str = "AWS_LWA_ENABLE_COMPRESSION";
    /// Header renamed to `Authorization`.
    pub const AUTHORIZATION_SOURCE: &str = "AWS_LWA_AUTHORIZATION_SOURCE";
    /// Statuses that make the invocation fail.
    pub const ERROR_STATUS_CODES: &str = "AWS_LWA_ERROR_STATUS_CODES";
    /// `host:port` that replaces `AWS_LAMBDA_RUNTIME_API` for the runtime calls.
    pub const LAMBDA_RUNTIME_API_PROXY: &str = "AWS_LWA_LAMBDA_RUNTIME_API_PROXY";
    /// Path POSTed to before a SnapStart snapshot.
    pub const SNAPSTART_BEFORE_CHECKPOINT_PATH: &str = "AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH";
    /// Path POSTed to after a SnapStart restore.
    pub const SNAPSTART_AFTER_RESTORE_PATH: &str = "AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH";
    /// Idle keep-alive of the connections to the app, in seconds.
    pub const POOL_IDLE_TIMEOUT_SECONDS: &str = "AWS_LWA_POOL_IDLE_TIMEOUT_SECONDS";
}

/// LWA's default port.
pub const DEFAULT_PORT: u16 = 8080;
/// LWA's default host.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// LWA's default readiness path.
pub const DEFAULT_READINESS_PATH: &str = "/";
/// LWA's default pass-through path.
pub const DEFAULT_PASS_THROUGH_PATH: &str = "/events";
/// LWA's default idle keep-alive: Express keeps connections for 5 s, so 4 s never reuses
/// a connection the app is closing (LWA #47).
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// How long the adapter waits for the app to become ready when
/// `AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS` is unset (LWA waits forever).
///
/// Lambda gives the init phase 10 s; when that runs out it runs init again at the first
/// invocation, under the function's timeout (up to 900 s). A bound under 10 s would fail
/// apps that start fine in that second run (5 s container cold starts are reported,
/// LWA #358, and apps loading models take longer). No bound means an app that never
/// becomes ready (LWA #575) holds every cold invocation until the function times out,
/// up to 15 minutes, with only "not ready" lines to go on. 30 s is three times the init
/// limit and about API Gateway's default integration timeout (29 s), past which no caller
/// behind API Gateway is still waiting.
pub const DEFAULT_READINESS_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest number of seconds the timeouts accept: Lambda's longest function timeout.
/// Nothing in an execution environment waits longer, and the bound keeps deadline
/// arithmetic far from overflow.
pub const MAX_SECONDS: u64 = 900;
/// How long LWA's async init waits for readiness during init (9.8 s, under Lambda's 10 s
/// init limit) before letting init finish and re-checking at the first invocation.
pub const ASYNC_INIT_WAIT: Duration = Duration::from_millis(9_800);

/// How the readiness check decides the app is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadinessProtocol {
    /// An HTTP/1.1 GET whose status is in the healthy set.
    #[default]
    Http,
    /// A TCP connection that is accepted.
    Tcp,
}

impl fmt::Display for ReadinessProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Http => "http",
            Self::Tcp => "tcp",
        })
    }
}

/// How the function's responses reach Lambda.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvokeMode {
    /// The whole response is posted at once.
    #[default]
    Buffered,
    /// The response is streamed (Function URLs with `InvokeMode: RESPONSE_STREAM`).
    ResponseStream,
}

impl fmt::Display for InvokeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Buffered => "buffered",
            Self::ResponseStream => "response_stream",
        })
    }
}

/// A set of HTTP statuses, written as codes and ranges such as `200-399,404`.
///
/// It keeps the entries in the order they were written, so that [`fmt::Display`] prints
/// back what the user wrote (a one-code range `404-404` prints as `404`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSet {
    ranges: Vec<(u16, u16)>,
}

impl StatusSet {
    /// LWA's default healthy set, `100-499`: anything but a server error.
    pub fn default_healthy() -> Self {
        Self {
            ranges: vec![(100, 499)],
        }
    }

    /// Whether `status` is in the set.
    pub fn contains(&self, status: u16) -> bool {
        self.ranges
            .iter()
            .any(|&(low, high)| (low..=high).contains(&status))
    }
}

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, &(low, high)) in self.ranges.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            if low == high {
                write!(f, "{low}")?;
            } else {
                write!(f, "{low}-{high}")?;
            }
        }
        Ok(())
    }
}

/// Why a text is not a [`StatusSet`]; the message names the faulty entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidStatusSet(String);

impl FromStr for StatusSet {
    type Err = InvalidStatusSet;

    /// Parses comma-separated codes and `low-high` ranges; spaces around entries are allowed.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let ranges = text
            .split(',')
            .map(str::trim)
            .map(status_range)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { ranges })
    }
}

/// One entry of a status set: `404` or `200-399`.
fn status_range(entry: &str) -> Result<(u16, u16), InvalidStatusSet> {
    if entry.is_empty() {
        return Err(InvalidStatusSet(
            "an entry is empty (two commas in a row, or a comma at an end)".into(),
        ));
    }
    let (low, high) = match entry.split_once('-') {
        Some((low, high)) => (
            status_code(low.trim(), entry)?,
            status_code(high.trim(), entry)?,
        ),
        None => {
            let code = status_code(entry, entry)?;
            (code, code)
        }
    };
    if low > high {
        return Err(InvalidStatusSet(format!(
            "in {entry:?} the low end is above the high end"
        )));
    }
    Ok((low, high))
}

/// A code of 100 to 599, the statuses HTTP defines classes for.
fn status_code(text: &str, entry: &str) -> Result<u16, InvalidStatusSet> {
    let code = all_digits(text)
        .then(|| text.parse::<u16>().ok())
        .flatten()
        .ok_or_else(|| InvalidStatusSet(format!("{entry:?} is not a status code or range")))?;
    if !(100..=599).contains(&code) {
        return Err(InvalidStatusSet(format!(
            "{code} in {entry:?} is outside 100-599"
        )));
    }
    Ok(code)
}

/// Why the configuration cannot be used. Its Display is the message the user sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A variable's value is not one the adapter accepts.
    #[error("{variable}={value:?} is not valid: {problem}; accepted: {accepted}")]
    Invalid {
        /// The variable, as it was spelled in the environment.
        variable: &'static str,
        /// Its value, trimmed.
        value: String,
        /// What is wrong with it.
        problem: String,
        /// The values the variable accepts.
        accepted: &'static str,
    },
    /// A variable that LWA 1.0 removed is set.
    #[error(
        "{variable}={value:?} was removed in Lambda Web Adapter 1.0: remove it and set {replacement} instead"
    )]
    Removed {
        /// The removed variable.
        variable: &'static str,
        /// Its value, trimmed.
        value: String,
        /// The setting that replaces it, e.g. `AWS_LWA_READINESS_CHECK_HEALTHY_STATUS=100-499`.
        replacement: String,
    },
}

/// The adapter's configuration. [`AdapterConfig::default`] is LWA's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterConfig {
    /// Port the app listens on (`AWS_LWA_PORT`, `PORT`; 8080).
    pub port: u16,
    /// Host the adapter connects to, without brackets for IPv6 (`AWS_LWA_HOST`, `HOST`;
    /// 127.0.0.1).
    pub host: String,
    /// Port of the readiness check (`AWS_LWA_READINESS_CHECK_PORT`; the app's port).
    pub readiness_port: u16,
    /// Path of the readiness GET (`AWS_LWA_READINESS_CHECK_PATH`; `/`).
    pub readiness_path: String,
    /// `http` or `tcp` (`AWS_LWA_READINESS_CHECK_PROTOCOL`; http).
    pub readiness_protocol: ReadinessProtocol,
    /// Statuses that mean ready (`AWS_LWA_READINESS_CHECK_HEALTHY_STATUS`; 100-499).
    pub healthy_status: StatusSet,
    /// Bound of the readiness wait (`AWS_LWA_READINESS_CHECK_TIMEOUT_SECONDS`;
    /// [`DEFAULT_READINESS_TIMEOUT`]).
    pub readiness_timeout: Duration,
    /// Let init end after [`ASYNC_INIT_WAIT`] and re-check readiness at the first
    /// invocation (`AWS_LWA_ASYNC_INIT`, `ASYNC_INIT`; false).
    pub async_init: bool,
    /// Prefix stripped from request paths (`AWS_LWA_REMOVE_BASE_PATH`; none).
    pub remove_base_path: Option<String>,
    /// Path non-HTTP events are POSTed to (`AWS_LWA_PASS_THROUGH_PATH`; `/events`).
    pub pass_through_path: String,
    /// Buffered or streamed responses (`AWS_LWA_INVOKE_MODE`; buffered).
    pub invoke_mode: InvokeMode,
    /// gzip compression of responses for clients that accept it, streamed ones included
    /// (`AWS_LWA_ENABLE_COMPRESSION`; false).
    pub compression: bool,
    /// Header renamed to `Authorization` (`AWS_LWA_AUTHORIZATION_SOURCE`; none).
    pub authorization_source: Option<String>,
    /// Statuses that make the invocation fail (`AWS_LWA_ERROR_STATUS_CODES`; none).
    pub error_status_codes: Option<StatusSet>,
    /// `host:port` that replaces `AWS_LAMBDA_RUNTIME_API` for the runtime calls
    /// (`AWS_LWA_LAMBDA_RUNTIME_API_PROXY`; none).
    pub runtime_api_proxy: Option<String>,
    /// Idle keep-alive of connections to the app; zero turns reuse off
    /// (`AWS_LWA_POOL_IDLE_TIMEOUT_SECONDS`; 4 s).
    pub pool_idle_timeout: Duration,
    /// Path POSTed to before a SnapStart snapshot
    /// (`AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH`; none).
    pub snapstart_before_checkpoint_path: Option<String>,
    /// Path POSTed to after a SnapStart restore (`AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH`;
    /// none).
    pub snapstart_after_restore_path: Option<String>,
}

impl Default for AdapterConfig {
    fn default() -> Self {
        Self {
            port: DEFAULT_PORT,
            host: DEFAULT_HOST.to_owned(),
            readiness_port: DEFAULT_PORT,
            readiness_path: DEFAULT_READINESS_PATH.to_owned(),
            readiness_protocol: ReadinessProtocol::Http,
            healthy_status: StatusSet::default_healthy(),
            readiness_timeout: DEFAULT_READINESS_TIMEOUT,
            async_init: false,
            remove_base_path: None,
            pass_through_path: DEFAULT_PASS_THROUGH_PATH.to_owned(),
            invoke_mode: InvokeMode::Buffered,
            compression: false,
            authorization_source: None,
            error_status_codes: None,
            runtime_api_proxy: None,
            pool_idle_timeout: DEFAULT_POOL_IDLE_TIMEOUT,
            snapstart_before_checkpoint_path: None,
            snapstart_after_restore_path: None,
        }
    }
}

impl AdapterConfig {
    /// Reads the configuration through `lookup` (a variable's value, or `None` when unset;
    /// use [`process_env`] for the process's environment). Returns it with the warnings to
    /// log (deprecated names, empty values), or the first error.
    pub fn from_env(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let mut env = Env {
            lookup,
            warnings: Vec::new(),
        };
        let config = Self::read(&mut env)?;
        Ok((config, env.warnings))
    }

    /// The readiness check this configuration asks for, with the default per-attempt
    /// timeout and progress interval.
    pub fn readiness_check(&self) -> ReadinessCheck {
        ReadinessCheck::new(
            &self.host,
            self.readiness_port,
            &self.readiness_path,
            self.readiness_protocol,
            self.healthy_status.clone(),
        )
    }

    fn read<F: Fn(&str) -> Option<String>>(env: &mut Env<F>) -> Result<Self, ConfigError> {
        reject_min_unhealthy_status(env)?;
        let defaults = Self::default();
        let port = env
            .read(vars::PORT, Some(Older::Kept("PORT")), &PORT_NUMBER)?
            .unwrap_or(defaults.port);
        let readiness = Self::read_readiness(env, port, &defaults)?;
        let config = Self {
            port,
            host: env
                .read(vars::HOST, Some(Older::Deprecated("HOST")), &HOST_NAME)?
                .unwrap_or(defaults.host),
            async_init: env
                .read(
                    vars::ASYNC_INIT,
                    Some(Older::Deprecated("ASYNC_INIT")),
                    &BOOLEAN,
                )?
                .unwrap_or(defaults.async_init),
            remove_base_path: env.read(
                vars::REMOVE_BASE_PATH,
                Some(Older::Deprecated("REMOVE_BASE_PATH")),
                &PATH,
            )?,
            pass_through_path: env
                .read(vars::PASS_THROUGH_PATH, None, &PATH)?
                .unwrap_or(defaults.pass_through_path),
            authorization_source: env.read(vars::AUTHORIZATION_SOURCE, None, &HEADER_NAME)?,
            error_status_codes: env.read(vars::ERROR_STATUS_CODES, None, &STATUSES)?,
            runtime_api_proxy: env.read(vars::LAMBDA_RUNTIME_API_PROXY, None, &HOST_AND_PORT)?,
            pool_idle_timeout: env
                .read(vars::POOL_IDLE_TIMEOUT_SECONDS, None, &IDLE_SECONDS)?
                .unwrap_or(defaults.pool_idle_timeout),
            snapstart_before_checkpoint_path: env.read(
                vars::SNAPSTART_BEFORE_CHECKPOINT_PATH,
                None,
                &PATH,
            )?,
            snapstart_after_restore_path: env.read(
                vars::SNAPSTART_AFTER_RESTORE_PATH,
                None,
                &PATH,
            )?,
            ..readiness
        };
        Self::read_responses(env, config)
    }

    /// The readiness settings, on top of the defaults; the readiness port defaults to
    /// the app's port.
    fn read_readiness<F: Fn(&str) -> Option<String>>(
        env: &mut Env<F>,
        port: u16,
        defaults: &Self,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            readiness_port: env
                .read(
                    vars::READINESS_CHECK_PORT,
                    Some(Older::Deprecated("READINESS_CHECK_PORT")),
                    &PORT_NUMBER,
                )?
                .unwrap_or(port),
            readiness_path: env
                .read(
                    vars::READINESS_CHECK_PATH,
                    Some(Older::Deprecated("READINESS_CHECK_PATH")),
                    &READINESS_PATH,
                )?
                .unwrap_or_else(|| defaults.readiness_path.clone()),
            readiness_protocol: env
                .read(
                    vars::READINESS_CHECK_PROTOCOL,
                    Some(Older::Deprecated("READINESS_CHECK_PROTOCOL")),
                    &PROTOCOL,
                )?
                .unwrap_or(defaults.readiness_protocol),
            healthy_status: env
                .read(vars::READINESS_CHECK_HEALTHY_STATUS, None, &STATUSES)?
                .unwrap_or_else(|| defaults.healthy_status.clone()),
            readiness_timeout: env
                .read(vars::READINESS_CHECK_TIMEOUT_SECONDS, None, &WAIT_SECONDS)?
                .unwrap_or(defaults.readiness_timeout),
            ..defaults.clone()
        })
    }

    /// Invoke mode and compression (which, unlike LWA's, also works when streaming).
    fn read_responses<F: Fn(&str) -> Option<String>>(
        env: &mut Env<F>,
        config: Self,
    ) -> Result<Self, ConfigError> {
        let invoke_mode = env
            .read(vars::INVOKE_MODE, None, &INVOKE_MODE)?
            .unwrap_or_default();
        let compression = env
            .read(vars::ENABLE_COMPRESSION, None, &BOOLEAN)?
            .unwrap_or(false);
        Ok(Self {
            invoke_mode,
            compression,
            ..config
        })
    }
}

/// Reads a variable of the process environment for [`AdapterConfig::from_env`].
///
/// Unlike `std::env::var(name).ok()`, a value that is not UTF-8 is not taken as unset:
/// its invalid bytes become U+FFFD, so the value is rejected with the variable's name.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}

/// LWA 1.0 replaced "statuses below N are healthy" with a healthy set: say which one.
fn reject_min_unhealthy_status<F: Fn(&str) -> Option<String>>(
    env: &mut Env<F>,
) -> Result<(), ConfigError> {
    let Some(setting) = env.get(vars::READINESS_CHECK_MIN_UNHEALTHY_STATUS) else {
        return Ok(());
    };
    let min = all_digits(&setting.value)
        .then(|| setting.value.parse::<u16>().ok())
        .flatten();
    let equivalent = match min {
        Some(min) if (101..=600).contains(&min) => StatusSet {
            ranges: vec![(100, min - 1)],
        }
        .to_string(),
        _ => "<codes and ranges, e.g. 100-499>".to_owned(),
    };
    Err(ConfigError::Removed {
        variable: setting.variable,
        value: setting.value,
        replacement: format!("{}={equivalent}", vars::READINESS_CHECK_HEALTHY_STATUS),
    })
}

/// The older, unprefixed spelling of a variable.
#[derive(Clone, Copy)]
enum Older {
    /// Still supported without a warning (`PORT`).
    Kept(&'static str),
    /// Read, with a warning.
    Deprecated(&'static str),
}

/// A variable that is set, with its value trimmed.
struct Setting {
    variable: &'static str,
    value: String,
}

/// How one kind of value is parsed, and the accepted values named in the error.
struct Rule<T> {
    parse: fn(&str) -> Result<T, String>,
    accepted: &'static str,
}

/// The lookup, and the warnings gathered while reading.
struct Env<F> {
    lookup: F,
    warnings: Vec<String>,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// The variable's value, trimmed, or `None` when it is unset or blank (which warns:
    /// `VAR=` in a Dockerfile or template usually means "not set").
    fn get(&mut self, variable: &'static str) -> Option<Setting> {
        let raw = (self.lookup)(variable)?;
        let value = raw.trim_matches(|c: char| c.is_ascii_whitespace());
        if value.is_empty() {
            self.warnings.push(format!(
                "{variable} is set but empty; it is treated as unset"
            ));
            return None;
        }
        Some(Setting {
            variable,
            value: value.to_owned(),
        })
    }

    /// The prefixed variable, else its older name; deprecated names warn when set.
    fn get_either(&mut self, variable: &'static str, older: Option<Older>) -> Option<Setting> {
        let prefixed = self.get(variable);
        let (old, deprecated) = match older {
            None => return prefixed,
            Some(Older::Kept(old)) => (old, false),
            Some(Older::Deprecated(old)) => (old, true),
        };
        let unprefixed = self.get(old);
        match (prefixed, unprefixed) {
            (Some(prefixed), unprefixed) => {
                if deprecated && unprefixed.is_some() {
                    self.warnings.push(format!(
                        "{old} is deprecated and ignored because {variable} is set; remove it"
                    ));
                }
                Some(prefixed)
            }
            (None, Some(unprefixed)) => {
                if deprecated {
                    self.warnings.push(format!(
                        "{old} is deprecated (Lambda Web Adapter 2.0 removes it); rename it to {variable}"
                    ));
                }
                Some(unprefixed)
            }
            (None, None) => None,
        }
    }

    /// The parsed value of the variable (or its older name), `None` when unset.
    fn read<T>(
        &mut self,
        variable: &'static str,
        older: Option<Older>,
        rule: &Rule<T>,
    ) -> Result<Option<T>, ConfigError> {
        let Some(setting) = self.get_either(variable, older) else {
            return Ok(None);
        };
        (rule.parse)(&setting.value)
            .map(Some)
            .map_err(|problem| ConfigError::Invalid {
                variable: setting.variable,
                value: setting.value,
                problem,
                accepted: rule.accepted,
            })
    }
}

const PORT_NUMBER: Rule<u16> = Rule {
    parse: parse_port,
    accepted: "a port number from 1 to 65535",
};
const HOST_NAME: Rule<String> = Rule {
    parse: parse_host,
    accepted: "a host name or an IP address, without scheme or port (e.g. 127.0.0.1, localhost, ::1)",
};
const HOST_AND_PORT: Rule<String> = Rule {
    parse: parse_host_and_port,
    accepted: "host:port without a scheme (e.g. 127.0.0.1:9009, [::1]:9009)",
};
const BOOLEAN: Rule<bool> = Rule {
    parse: parse_bool,
    accepted: "true, false, 1 or 0 (any case)",
};
const PATH: Rule<String> = Rule {
    parse: parse_path,
    accepted: "a path starting with / (e.g. /api), in ASCII without spaces, '?' or '#'",
};
const READINESS_PATH: Rule<String> = Rule {
    parse: parse_readiness_path,
    accepted: "a path starting with / and an optional query (e.g. /health?full=1), in ASCII without spaces or '#'",
};
const PROTOCOL: Rule<ReadinessProtocol> = Rule {
    parse: parse_protocol,
    accepted: "http or tcp",
};
const INVOKE_MODE: Rule<InvokeMode> = Rule {
    parse: parse_invoke_mode,
    accepted: "buffered or response_stream",
};
const STATUSES: Rule<StatusSet> = Rule {
    parse: parse_statuses,
    accepted: "status codes and low-high ranges from 100 to 599, separated by commas (e.g. 200-399,404)",
};
const HEADER_NAME: Rule<String> = Rule {
    parse: parse_header_name,
    accepted: "an HTTP header name (e.g. X-Authorization)",
};
const WAIT_SECONDS: Rule<Duration> = Rule {
    parse: parse_wait_seconds,
    accepted: "seconds above 0 and at most 900, as digits with an optional fraction (e.g. 30 or 0.5)",
};
const IDLE_SECONDS: Rule<Duration> = Rule {
    parse: parse_idle_seconds,
    accepted: "seconds from 0 (no reuse) to 900, as digits with an optional fraction (e.g. 4 or 0.5)",
};

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

fn parse_port(text: &str) -> Result<u16, String> {
    if !all_digits(text) {
        return Err("not a number".into());
    }
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err("out of range".into()),
        Ok(port) => Ok(port),
    }
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err("not a boolean".into()),
    }
}

fn parse_protocol(text: &str) -> Result<ReadinessProtocol, String> {
    // LWA compares in lower case (its own default is spelled "HTTP"), so any case is fine.
    match text.to_ascii_lowercase().as_str() {
        "http" => Ok(ReadinessProtocol::Http),
        "tcp" => Ok(ReadinessProtocol::Tcp),
        _ => Err("unknown protocol".into()),
    }
}

fn parse_invoke_mode(text: &str) -> Result<InvokeMode, String> {
    match text.to_ascii_lowercase().as_str() {
        "buffered" => Ok(InvokeMode::Buffered),
        "response_stream" => Ok(InvokeMode::ResponseStream),
        _ => Err("unknown invoke mode".into()),
    }
}

fn parse_statuses(text: &str) -> Result<StatusSet, String> {
    text.parse::<StatusSet>().map_err(|e| e.to_string())
}

fn parse_path(text: &str) -> Result<String, String> {
    check_path(text, false).map(|()| text.to_owned())
}

fn parse_readiness_path(text: &str) -> Result<String, String> {
    check_path(text, true).map(|()| text.to_owned())
}

/// A path the adapter can put in a request line as it is: a stricter rule than URI
/// parsing, so building the request later cannot fail.
fn check_path(text: &str, query_allowed: bool) -> Result<(), String> {
    if !text.starts_with('/') {
        return Err("does not start with /".into());
    }
    match text.chars().find(|&c| !path_char(c, query_allowed)) {
        None => Ok(()),
        Some(c) if !c.is_ascii() => Err(format!(
            "contains the non-ASCII character {c:?}; percent-encode it"
        )),
        Some(c) => Err(format!("contains the character {c:?}")),
    }
}

fn path_char(c: char, query_allowed: bool) -> bool {
    match c {
        '?' => query_allowed,
        '#' | '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}' => false,
        _ => c.is_ascii_graphic(),
    }
}

fn parse_host(text: &str) -> Result<String, String> {
    if text.contains("://") {
        return Err("contains a scheme".into());
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        // Brackets are URL syntax; the host is kept bare so it connects as an address.
        return inner
            .parse::<Ipv6Addr>()
            .map(|_| inner.to_owned())
            .map_err(|_| "not an IPv6 address inside the brackets".into());
    }
    if text.parse::<IpAddr>().is_ok() {
        return Ok(text.to_owned());
    }
    if text.contains(':') {
        return Err("contains ':' (the port goes in its own variable)".into());
    }
    check_host_name(text).map(|()| text.to_owned())
}

/// DNS-style labels; underscores are allowed because container host names use them.
fn check_host_name(text: &str) -> Result<(), String> {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if text.len() > 253 || !text.split('.').all(label_ok) {
        return Err("not a host name".into());
    }
    if text.rsplit('.').next().is_some_and(all_digits) {
        return Err("not an IP address".into());
    }
    Ok(())
}

fn parse_host_and_port(text: &str) -> Result<String, String> {
    if text.contains("://") {
        return Err("contains a scheme".into());
    }
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| "has no :port".to_owned())?;
    if host.is_empty() {
        return Err("has no host".into());
    }
    if !host.starts_with('[') && host.contains(':') {
        return Err("an IPv6 host needs brackets".into());
    }
    parse_host(host).map_err(|problem| format!("host {host:?}: {problem}"))?;
    parse_port(port).map_err(|problem| format!("port {port:?}: {problem}"))?;
    Ok(text.to_owned())
}

/// An RFC 9110 token, the only thing a header name can be.
fn parse_header_name(text: &str) -> Result<String, String> {
    let token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    match text.chars().find(|&c| !token_char(c)) {
        None => Ok(text.to_owned()),
        Some(c) => Err(format!("contains the character {c:?}")),
    }
}

fn parse_wait_seconds(text: &str) -> Result<Duration, String> {
    let seconds = parse_seconds(text)?;
    if seconds.is_zero() {
        return Err("0 would not wait at all (LWA reads it as \"forever\")".into());
    }
    Ok(seconds)
}

fn parse_idle_seconds(text: &str) -> Result<Duration, String> {
    parse_seconds(text)
}

/// `digits[.digits]`, at most [`MAX_SECONDS`]: no sign, exponent, `inf` or `NaN`, so the
/// float conversion below cannot fail or overflow.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    if text.starts_with('-') {
        return Err("negative".into());
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    if !all_digits(whole) || !all_digits(fraction) {
        return Err("not a number of seconds".into());
    }
    let seconds: f64 = text
        .parse()
        .map_err(|_| "not a number of seconds".to_owned())?;
    if seconds > MAX_SECONDS as f64 {
        return Err(format!("more than {MAX_SECONDS}"));
    }
    Ok(Duration::from_secs_f64(seconds))
}
