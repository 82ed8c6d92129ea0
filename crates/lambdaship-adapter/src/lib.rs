//! lambdaship's web adapter, compatible with the configuration of the AWS Lambda Web
//! Adapter (LWA): a Lambda external extension that waits until the user's web app
//! (gunicorn, uvicorn) is ready, then turns Lambda events into HTTP requests to it.
//!
//! This library part reads the configuration ([`AdapterConfig::from_env`]) and waits for
//! the app ([`wait_until_ready`]), failing with a message that says what the app did.
//!
//! ```
//! use lambdaship_adapter::AdapterConfig;
//!
//! let env = |name: &str| (name == "AWS_LWA_PORT").then(|| "3000".to_owned());
//! let (config, warnings) = AdapterConfig::from_env(env)?;
//! assert_eq!((config.port, config.readiness_port), (3000, 3000));
//! assert!(warnings.is_empty());
//!
//! let bad = |name: &str| (name == "AWS_LWA_INVOKE_MODE").then(|| "stream".to_owned());
//! let error = AdapterConfig::from_env(bad).unwrap_err().to_string();
//! assert!(error.contains("buffered or response_stream"));
//! # Ok::<(), lambdaship_adapter::ConfigError>(())
//! ```

pub mod config;
pub mod readiness;

pub use config::{
    AdapterConfig, ConfigError, InvalidStatusSet, InvokeMode, ReadinessProtocol, StatusSet,
    process_env,
};
pub use readiness::{Attempt, NotReady, Outcome, ReadinessCheck, check_once, wait_until_ready};
