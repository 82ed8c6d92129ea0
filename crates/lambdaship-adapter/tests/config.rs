//! `AdapterConfig::from_env` for every variable: defaults, valid values, the message of
//! each malformed value, older names and their warnings, and odd inputs.

use std::collections::HashMap;
use std::time::Duration;

use lambdaship_adapter::config::{DEFAULT_READINESS_TIMEOUT, vars};
use lambdaship_adapter::{AdapterConfig, ConfigError, StatusSet};

fn from(pairs: &[(&str, &str)]) -> Result<(AdapterConfig, Vec<String>), ConfigError> {
    let env: HashMap<String, String> = pairs
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    AdapterConfig::from_env(|name| env.get(name).cloned())
}

fn load(pairs: &[(&str, &str)]) -> (AdapterConfig, Vec<String>) {
    from(pairs).unwrap_or_else(|e| panic!("{pairs:?} should load: {e}"))
}

fn error(pairs: &[(&str, &str)]) -> String {
    match from(pairs) {
        Ok((config, _)) => panic!("{pairs:?} should be rejected, got {config:?}"),
        Err(e) => e.to_string(),
    }
}

/// The field a variable (or its older name) sets, printed.
fn field(config: &AdapterConfig, variable: &str) -> String {
    let name = variable.strip_prefix("AWS_LWA_").unwrap_or(variable);
    match name {
        "PORT" => config.port.to_string(),
        "HOST" => config.host.clone(),
        "READINESS_CHECK_PORT" => config.readiness_port.to_string(),
        "READINESS_CHECK_PATH" => config.readiness_path.clone(),
        "READINESS_CHECK_PROTOCOL" => config.readiness_protocol.to_string(),
        "READINESS_CHECK_HEALTHY_STATUS" => config.healthy_status.to_string(),
        "READINESS_CHECK_TIMEOUT_SECONDS" => format!("{:?}", config.readiness_timeout),
        "ASYNC_INIT" => config.async_init.to_string(),
        "REMOVE_BASE_PATH" => format!("{:?}", config.remove_base_path),
        "PASS_THROUGH_PATH" => config.pass_through_path.clone(),
        "INVOKE_MODE" => config.invoke_mode.to_string(),
        "ENABLE_COMPRESSION" => config.compression.to_string(),
        "AUTHORIZATION_SOURCE" => format!("{:?}", config.authorization_source),
        "ERROR_STATUS_CODES" => format!(
            "{:?}",
            config.error_status_codes.as_ref().map(ToString::to_string)
        ),
        "LAMBDA_RUNTIME_API_PROXY" => format!("{:?}", config.runtime_api_proxy),
        "POOL_IDLE_TIMEOUT_SECONDS" => format!("{:?}", config.pool_idle_timeout),
        "SNAPSTART_BEFORE_CHECKPOINT_PATH" => {
            format!("{:?}", config.snapstart_before_checkpoint_path)
        }
        "SNAPSTART_AFTER_RESTORE_PATH" => format!("{:?}", config.snapstart_after_restore_path),
        _ => panic!("no field for {variable}"),
    }
}

/// Every variable that sets a field, with LWA's default.
const DEFAULTS: &[(&str, &str)] = &[
    (vars::PORT, "8080"),
    (vars::HOST, "127.0.0.1"),
    (vars::READINESS_CHECK_PORT, "8080"),
    (vars::READINESS_CHECK_PATH, "/"),
    (vars::READINESS_CHECK_PROTOCOL, "http"),
    (vars::READINESS_CHECK_HEALTHY_STATUS, "100-499"),
    (vars::READINESS_CHECK_TIMEOUT_SECONDS, "30s"),
    (vars::ASYNC_INIT, "false"),
    (vars::REMOVE_BASE_PATH, "None"),
    (vars::PASS_THROUGH_PATH, "/events"),
    (vars::INVOKE_MODE, "buffered"),
    (vars::ENABLE_COMPRESSION, "false"),
    (vars::AUTHORIZATION_SOURCE, "None"),
    (vars::ERROR_STATUS_CODES, "None"),
    (vars::LAMBDA_RUNTIME_API_PROXY, "None"),
    (vars::POOL_IDLE_TIMEOUT_SECONDS, "4s"),
    (vars::SNAPSTART_BEFORE_CHECKPOINT_PATH, "None"),
    (vars::SNAPSTART_AFTER_RESTORE_PATH, "None"),
];

#[test]
fn nothing_set_gives_lwa_defaults_without_warnings() {
    let (config, warnings) = load(&[]);
    for &(variable, default) in DEFAULTS {
        assert_eq!(field(&config, variable), default, "default of {variable}");
    }
    assert_eq!(config, AdapterConfig::default());
    assert_eq!(config.readiness_timeout, DEFAULT_READINESS_TIMEOUT);
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// (variable, value, the field printed)
const VALID: &[(&str, &str, &str)] = &[
    (vars::PORT, "3000", "3000"),
    (vars::PORT, "1", "1"),
    (vars::PORT, "65535", "65535"),
    (vars::HOST, "localhost", "localhost"),
    (vars::HOST, "0.0.0.0", "0.0.0.0"),
    (vars::HOST, "::1", "::1"),
    (vars::HOST, "[::1]", "::1"),
    (vars::HOST, "app_1.internal", "app_1.internal"),
    (vars::READINESS_CHECK_PORT, "9000", "9000"),
    (vars::READINESS_CHECK_PATH, "/health", "/health"),
    (
        vars::READINESS_CHECK_PATH,
        "/health?full=1",
        "/health?full=1",
    ),
    (vars::READINESS_CHECK_PATH, "/caf%C3%A9", "/caf%C3%A9"),
    (vars::READINESS_CHECK_PROTOCOL, "tcp", "tcp"),
    (vars::READINESS_CHECK_PROTOCOL, "TCP", "tcp"),
    (vars::READINESS_CHECK_PROTOCOL, "HTTP", "http"),
    (
        vars::READINESS_CHECK_HEALTHY_STATUS,
        "200-399,404",
        "200-399,404",
    ),
    (
        vars::READINESS_CHECK_HEALTHY_STATUS,
        " 200 - 299 , 404 ",
        "200-299,404",
    ),
    (vars::READINESS_CHECK_HEALTHY_STATUS, "204-204", "204"),
    (vars::READINESS_CHECK_HEALTHY_STATUS, "100-599", "100-599"),
    (vars::READINESS_CHECK_TIMEOUT_SECONDS, "5", "5s"),
    (vars::READINESS_CHECK_TIMEOUT_SECONDS, "0.5", "500ms"),
    (vars::READINESS_CHECK_TIMEOUT_SECONDS, "900", "900s"),
    (vars::ASYNC_INIT, "true", "true"),
    (vars::ASYNC_INIT, "TRUE", "true"),
    (vars::ASYNC_INIT, "1", "true"),
    (vars::ASYNC_INIT, "False", "false"),
    (vars::ASYNC_INIT, "0", "false"),
    (vars::REMOVE_BASE_PATH, "/prod", "Some(\"/prod\")"),
    (vars::PASS_THROUGH_PATH, "/sqs", "/sqs"),
    (vars::INVOKE_MODE, "response_stream", "response_stream"),
    (vars::INVOKE_MODE, "RESPONSE_STREAM", "response_stream"),
    (vars::INVOKE_MODE, "buffered", "buffered"),
    (vars::ENABLE_COMPRESSION, "true", "true"),
    (vars::ENABLE_COMPRESSION, "0", "false"),
    (
        vars::AUTHORIZATION_SOURCE,
        "X-Auth-Token",
        "Some(\"X-Auth-Token\")",
    ),
    (
        vars::ERROR_STATUS_CODES,
        "500,502-504",
        "Some(\"500,502-504\")",
    ),
    (
        vars::LAMBDA_RUNTIME_API_PROXY,
        "127.0.0.1:9009",
        "Some(\"127.0.0.1:9009\")",
    ),
    (
        vars::LAMBDA_RUNTIME_API_PROXY,
        "proxy:9009",
        "Some(\"proxy:9009\")",
    ),
    (
        vars::LAMBDA_RUNTIME_API_PROXY,
        "[::1]:9009",
        "Some(\"[::1]:9009\")",
    ),
    (vars::POOL_IDLE_TIMEOUT_SECONDS, "0", "0ns"),
    (vars::POOL_IDLE_TIMEOUT_SECONDS, "0.5", "500ms"),
    (vars::POOL_IDLE_TIMEOUT_SECONDS, "10", "10s"),
    (
        vars::SNAPSTART_BEFORE_CHECKPOINT_PATH,
        "/_before",
        "Some(\"/_before\")",
    ),
    (
        vars::SNAPSTART_AFTER_RESTORE_PATH,
        "/_after",
        "Some(\"/_after\")",
    ),
];

#[test]
fn every_variable_takes_its_valid_values() {
    for &(variable, value, expected) in VALID {
        let (config, warnings) = load(&[(variable, value)]);
        assert_eq!(field(&config, variable), expected, "{variable}={value:?}");
        assert!(warnings.is_empty(), "{variable}={value:?}: {warnings:?}");
    }
}

/// (variable, value, a part of the message besides the name, value and accepted values)
const MALFORMED: &[(&str, &str, &str)] = &[
    (vars::PORT, "80a", "not a number"),
    (vars::PORT, "0", "out of range"),
    (vars::PORT, "65536", "out of range"),
    (vars::PORT, "-1", "not a number"),
    (vars::PORT, "+8080", "not a number"),
    (vars::PORT, "0x1F90", "not a number"),
    (vars::PORT, "8080.0", "not a number"),
    (vars::HOST, "http://localhost", "scheme"),
    (
        vars::HOST,
        "127.0.0.1:8080",
        "the port goes in its own variable",
    ),
    (vars::HOST, "999.1.1.1", "not an IP address"),
    (vars::HOST, "my host", "not a host name"),
    (vars::HOST, "[localhost]", "IPv6"),
    (vars::READINESS_CHECK_PORT, "port", "not a number"),
    (
        vars::READINESS_CHECK_PATH,
        "health",
        "does not start with /",
    ),
    (vars::READINESS_CHECK_PATH, "/health check", "' '"),
    (vars::READINESS_CHECK_PATH, "/héalth", "non-ASCII"),
    (vars::READINESS_CHECK_PATH, "/health#top", "'#'"),
    (vars::READINESS_CHECK_PROTOCOL, "https", "unknown protocol"),
    (
        vars::READINESS_CHECK_HEALTHY_STATUS,
        "2OO",
        "not a status code",
    ),
    (
        vars::READINESS_CHECK_HEALTHY_STATUS,
        "200-",
        "not a status code",
    ),
    (
        vars::READINESS_CHECK_HEALTHY_STATUS,
        "399-200",
        "low end is above the high end",
    ),
    (vars::READINESS_CHECK_HEALTHY_STATUS, "200,,404", "empty"),
    (vars::READINESS_CHECK_HEALTHY_STATUS, "200,", "empty"),
    (
        vars::READINESS_CHECK_HEALTHY_STATUS,
        "99",
        "outside 100-599",
    ),
    (
        vars::READINESS_CHECK_HEALTHY_STATUS,
        "200-600",
        "outside 100-599",
    ),
    (
        vars::READINESS_CHECK_HEALTHY_STATUS,
        "200-300-400",
        "not a status code",
    ),
    (vars::READINESS_CHECK_TIMEOUT_SECONDS, "0", "would not wait"),
    (
        vars::READINESS_CHECK_TIMEOUT_SECONDS,
        "0.0",
        "would not wait",
    ),
    (vars::READINESS_CHECK_TIMEOUT_SECONDS, "-1", "negative"),
    (
        vars::READINESS_CHECK_TIMEOUT_SECONDS,
        "901",
        "more than 900",
    ),
    (
        vars::READINESS_CHECK_TIMEOUT_SECONDS,
        "30s",
        "not a number of seconds",
    ),
    (
        vars::READINESS_CHECK_TIMEOUT_SECONDS,
        "1e3",
        "not a number of seconds",
    ),
    (
        vars::READINESS_CHECK_TIMEOUT_SECONDS,
        "inf",
        "not a number of seconds",
    ),
    (
        vars::READINESS_CHECK_TIMEOUT_SECONDS,
        ".5",
        "not a number of seconds",
    ),
    (vars::ASYNC_INIT, "yes", "not a boolean"),
    (vars::ASYNC_INIT, "on", "not a boolean"),
    (vars::REMOVE_BASE_PATH, "prod", "does not start with /"),
    (vars::REMOVE_BASE_PATH, "/prod?x", "'?'"),
    (vars::PASS_THROUGH_PATH, "events", "does not start with /"),
    (vars::INVOKE_MODE, "stream", "unknown invoke mode"),
    (vars::INVOKE_MODE, "RESPONSE-STREAM", "unknown invoke mode"),
    (vars::ENABLE_COMPRESSION, "gzip", "not a boolean"),
    (vars::AUTHORIZATION_SOURCE, "X Auth", "' '"),
    (vars::AUTHORIZATION_SOURCE, "X-Auth:", "':'"),
    (vars::ERROR_STATUS_CODES, "5xx", "not a status code"),
    (
        vars::ERROR_STATUS_CODES,
        "504-500",
        "low end is above the high end",
    ),
    (vars::LAMBDA_RUNTIME_API_PROXY, "127.0.0.1", "has no :port"),
    (
        vars::LAMBDA_RUNTIME_API_PROXY,
        "http://127.0.0.1:9009",
        "scheme",
    ),
    (vars::LAMBDA_RUNTIME_API_PROXY, ":9009", "has no host"),
    (vars::LAMBDA_RUNTIME_API_PROXY, "proxy:0", "out of range"),
    (vars::LAMBDA_RUNTIME_API_PROXY, "::1:9009", "brackets"),
    (vars::POOL_IDLE_TIMEOUT_SECONDS, "-1", "negative"),
    (
        vars::POOL_IDLE_TIMEOUT_SECONDS,
        "four",
        "not a number of seconds",
    ),
    (vars::POOL_IDLE_TIMEOUT_SECONDS, "1000", "more than 900"),
    (
        vars::SNAPSTART_BEFORE_CHECKPOINT_PATH,
        "before",
        "does not start with /",
    ),
    (
        vars::SNAPSTART_AFTER_RESTORE_PATH,
        "after",
        "does not start with /",
    ),
];

/// The accepted values each message must list, by variable.
fn accepted(variable: &str) -> &'static str {
    let name = variable.strip_prefix("AWS_LWA_").unwrap_or(variable);
    match name {
        "PORT" | "READINESS_CHECK_PORT" => "1 to 65535",
        "HOST" => "a host name or an IP address",
        "READINESS_CHECK_PATH" => "a path starting with / and an optional query",
        "REMOVE_BASE_PATH"
        | "PASS_THROUGH_PATH"
        | "SNAPSTART_BEFORE_CHECKPOINT_PATH"
        | "SNAPSTART_AFTER_RESTORE_PATH" => "a path starting with /",
        "READINESS_CHECK_PROTOCOL" => "http or tcp",
        "READINESS_CHECK_HEALTHY_STATUS" | "ERROR_STATUS_CODES" => "ranges from 100 to 599",
        "READINESS_CHECK_TIMEOUT_SECONDS" => "seconds above 0 and at most 900",
        "POOL_IDLE_TIMEOUT_SECONDS" => "seconds from 0 (no reuse) to 900",
        "ASYNC_INIT" | "ENABLE_COMPRESSION" => "true, false, 1 or 0",
        "INVOKE_MODE" => "buffered or response_stream",
        "AUTHORIZATION_SOURCE" => "an HTTP header name",
        "LAMBDA_RUNTIME_API_PROXY" => "host:port without a scheme",
        _ => panic!("no accepted values for {variable}"),
    }
}

#[test]
fn every_malformed_value_is_an_error_naming_variable_value_and_accepted_values() {
    for &(variable, value, problem) in MALFORMED {
        let message = error(&[(variable, value)]);
        let named = format!("{variable}={value:?} is not valid");
        for part in [named.as_str(), problem, "accepted:", accepted(variable)] {
            assert!(
                message.contains(part),
                "{variable}={value:?}: {message:?} lacks {part:?}"
            );
        }
    }
}

#[test]
fn an_error_shows_the_whole_message() {
    assert_eq!(
        error(&[(vars::READINESS_CHECK_PROTOCOL, "https")]),
        "AWS_LWA_READINESS_CHECK_PROTOCOL=\"https\" is not valid: unknown protocol; \
         accepted: http or tcp"
    );
}

#[test]
fn the_readiness_port_follows_the_app_port_unless_set() {
    let (config, _) = load(&[(vars::PORT, "3000")]);
    assert_eq!((config.port, config.readiness_port), (3000, 3000));
    let (config, _) = load(&[("PORT", "3000")]);
    assert_eq!((config.port, config.readiness_port), (3000, 3000));
    let (config, _) = load(&[(vars::PORT, "3000"), (vars::READINESS_CHECK_PORT, "3001")]);
    assert_eq!((config.port, config.readiness_port), (3000, 3001));
}

/// (older name, prefixed name, a valid value, another valid value)
const OLDER_NAMES: &[(&str, &str, &str, &str)] = &[
    ("HOST", vars::HOST, "localhost", "127.0.0.2"),
    (
        "READINESS_CHECK_PORT",
        vars::READINESS_CHECK_PORT,
        "9000",
        "9001",
    ),
    (
        "READINESS_CHECK_PATH",
        vars::READINESS_CHECK_PATH,
        "/old",
        "/new",
    ),
    (
        "READINESS_CHECK_PROTOCOL",
        vars::READINESS_CHECK_PROTOCOL,
        "tcp",
        "http",
    ),
    ("ASYNC_INIT", vars::ASYNC_INIT, "true", "false"),
    ("REMOVE_BASE_PATH", vars::REMOVE_BASE_PATH, "/old", "/new"),
];

#[test]
fn a_deprecated_name_is_read_with_a_warning_to_rename_it() {
    for &(old, new, value, _) in OLDER_NAMES {
        let (config, warnings) = load(&[(old, value)]);
        let (expected, _) = load(&[(new, value)]);
        assert_eq!(field(&config, new), field(&expected, new), "{old}={value}");
        assert_eq!(warnings.len(), 1, "{old}: {warnings:?}");
        let warning = &warnings[0];
        assert!(
            warning.contains(&format!("{old} is deprecated")) && warning.contains(new),
            "{warning}"
        );
    }
}

#[test]
fn the_prefixed_name_wins_and_the_deprecated_one_is_said_to_be_ignored() {
    for &(old, new, old_value, new_value) in OLDER_NAMES {
        let (config, warnings) = load(&[(old, old_value), (new, new_value)]);
        let (expected, _) = load(&[(new, new_value)]);
        assert_eq!(
            field(&config, new),
            field(&expected, new),
            "{old} and {new}"
        );
        assert_eq!(
            warnings,
            [format!(
                "{old} is deprecated and ignored because {new} is set; remove it"
            )]
        );
    }
}

#[test]
fn port_is_an_older_name_without_deprecation() {
    let (config, warnings) = load(&[("PORT", "3000")]);
    assert_eq!(config.port, 3000);
    assert!(warnings.is_empty(), "{warnings:?}");
    let (config, warnings) = load(&[("PORT", "3000"), (vars::PORT, "4000")]);
    assert_eq!(config.port, 4000);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn an_ignored_older_name_is_not_checked_but_a_used_one_is() {
    let (config, _) = load(&[("PORT", "not-a-port"), (vars::PORT, "4000")]);
    assert_eq!(config.port, 4000);
    let message = error(&[("READINESS_CHECK_PATH", "health")]);
    assert!(
        message.starts_with("READINESS_CHECK_PATH=\"health\" is not valid"),
        "{message}"
    );
}

#[test]
fn min_unhealthy_status_is_an_error_giving_the_equivalent_healthy_set() {
    let cases = [
        ("500", "AWS_LWA_READINESS_CHECK_HEALTHY_STATUS=100-499"),
        ("400", "AWS_LWA_READINESS_CHECK_HEALTHY_STATUS=100-399"),
        ("600", "AWS_LWA_READINESS_CHECK_HEALTHY_STATUS=100-599"),
        ("101", "AWS_LWA_READINESS_CHECK_HEALTHY_STATUS=100 "),
        (
            "abc",
            "AWS_LWA_READINESS_CHECK_HEALTHY_STATUS=<codes and ranges",
        ),
        (
            "100",
            "AWS_LWA_READINESS_CHECK_HEALTHY_STATUS=<codes and ranges",
        ),
    ];
    for (value, replacement) in cases {
        let message = error(&[(vars::READINESS_CHECK_MIN_UNHEALTHY_STATUS, value)]);
        let removed = format!(
            "AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS={value:?} was removed in Lambda Web \
             Adapter 1.0: remove it and set"
        );
        assert!(message.starts_with(&removed), "{message}");
        assert!(message.contains(replacement), "{value}: {message}");
    }
    // Even beside the new variable: the old one must go.
    let message = error(&[
        (vars::READINESS_CHECK_MIN_UNHEALTHY_STATUS, "500"),
        (vars::READINESS_CHECK_HEALTHY_STATUS, "200-499"),
    ]);
    assert!(message.contains("100-499"), "{message}");
}

#[test]
fn compression_stays_on_when_streaming() {
    let (config, warnings) = load(&[
        (vars::ENABLE_COMPRESSION, "true"),
        (vars::INVOKE_MODE, "response_stream"),
    ]);
    assert!(config.compression);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn empty_and_blank_values_are_unset_with_a_warning() {
    for value in ["", " ", "\t\n"] {
        let (config, warnings) = load(&[(vars::PORT, value), ("PORT", "3000")]);
        assert_eq!(config.port, 3000, "{value:?}");
        assert_eq!(
            warnings,
            ["AWS_LWA_PORT is set but empty; it is treated as unset"]
        );
    }
    let (config, _) = load(&[(vars::REMOVE_BASE_PATH, "")]);
    assert_eq!(config.remove_base_path, None);
}

#[test]
fn surrounding_whitespace_is_trimmed() {
    let (config, warnings) = load(&[
        (vars::PORT, " 3000\n"),
        (vars::READINESS_CHECK_PATH, "\t/health "),
        (vars::ASYNC_INIT, "true\r\n"),
    ]);
    assert_eq!(config.port, 3000);
    assert_eq!(config.readiness_path, "/health");
    assert!(config.async_init);
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn odd_characters_are_errors_shown_escaped() {
    // Invalid UTF-8 reaches us as U+FFFD through `process_env`.
    let message = error(&[(vars::PORT, "80\u{FFFD}80")]);
    assert!(
        message.contains("AWS_LWA_PORT=\"80\u{FFFD}80\""),
        "{message}"
    );
    let message = error(&[(vars::READINESS_CHECK_PATH, "/a\u{1b}[31m")]);
    assert!(message.contains("\\u{1b}"), "{message}");
    assert!(!message.contains('\u{1b}'), "{message}");
    let message = error(&[(vars::READINESS_CHECK_PATH, "/\0")]);
    assert!(message.contains("'\\0'"), "{message}");
}

#[test]
fn no_input_panics() {
    let odd = [
        "",
        " ",
        "\0",
        "\u{FFFD}",
        "\u{7f}",
        "-",
        ",",
        ":",
        "[",
        "[]",
        "[::1",
        "a:b:c",
        "-0",
        "0",
        "00000000000000000000000000001",
        "1.",
        "1e400",
        "NaN",
        "٣",
        "/\u{301}",
        "100-",
        "-100",
        "100--200",
        "\u{10FFFF}",
    ];
    let long_number = "9".repeat(400);
    let long_name = "a.".repeat(200);
    let mut names: Vec<&str> = DEFAULTS.iter().map(|&(name, _)| name).collect();
    names.extend(OLDER_NAMES.iter().map(|&(old, ..)| old));
    names.extend(["PORT", vars::READINESS_CHECK_MIN_UNHEALTHY_STATUS]);
    for name in names {
        for value in odd
            .iter()
            .copied()
            .chain([long_number.as_str(), long_name.as_str()])
        {
            // Either result is fine; only a panic fails.
            let _ = from(&[(name, value)]);
        }
    }
}

#[test]
fn status_sets_parse_contain_and_print_back() {
    let set: StatusSet = "200-399, 404".parse().expect("valid");
    assert_eq!(set.to_string(), "200-399,404");
    for (status, inside) in [
        (199, false),
        (200, true),
        (399, true),
        (400, false),
        (404, true),
    ] {
        assert_eq!(set.contains(status), inside, "{status}");
    }
    let default = StatusSet::default_healthy();
    assert_eq!(default.to_string(), "100-499");
    assert!(default.contains(100) && default.contains(499) && !default.contains(500));
    let error = "200,abc".parse::<StatusSet>().expect_err("invalid");
    assert_eq!(error.to_string(), "\"abc\" is not a status code or range");
}

#[test]
fn the_readiness_check_comes_from_the_config() {
    let (config, _) = load(&[
        (vars::HOST, "[::1]"),
        (vars::PORT, "3000"),
        (vars::READINESS_CHECK_PORT, "3001"),
        (vars::READINESS_CHECK_PATH, "/up"),
        (vars::READINESS_CHECK_PROTOCOL, "tcp"),
        (vars::READINESS_CHECK_HEALTHY_STATUS, "200"),
    ]);
    let check = config.readiness_check();
    assert_eq!(
        (check.host.as_str(), check.port, check.path.as_str()),
        ("::1", 3001, "/up")
    );
    assert_eq!(check.healthy.to_string(), "200");
    assert_eq!(check.to_string(), "protocol tcp: connect to [::1]:3001");
    assert_eq!(check.attempt_timeout, Duration::from_secs(1));
}

#[test]
fn process_env_reads_the_process_environment() {
    assert_eq!(
        lambdaship_adapter::process_env("LAMBDASHIP_ADAPTER_SURELY_UNSET_VARIABLE"),
        None
    );
    assert!(lambdaship_adapter::process_env("PATH").is_some());
}
