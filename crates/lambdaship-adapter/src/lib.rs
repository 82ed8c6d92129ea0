//! lambdaship's web adapter, compatible with the configuration of the AWS Lambda Web
//! Adapter (LWA): a Lambda external extension that waits until the user's web app
//! (gunicorn, uvicorn) is ready, then turns Lambda events into HTTP requests to it.
//!
//! The binary (`src/main.rs`) registers with the Extensions API, waits for the app
//! ([`wait_until_ready`], failing with a message that says what the app did), then runs the
//! Runtime API loop ([`lambda_api`]): each event becomes a request to the app ([`forward`],
//! with the event conversion of `lambdaship-events`), and the app's answer the function's
//! result, buffered or streamed ([`invoke`], with [`compress`]). The configuration is the
//! Lambda Web Adapter's ([`AdapterConfig::from_env`]), checked strictly.
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

pub mod compress;
pub mod config;
pub mod forward;
pub mod invoke;
pub mod lambda_api;
pub mod readiness;

pub use config::{
    AdapterConfig, ConfigError, InvalidStatusSet, InvokeMode, ReadinessProtocol, StatusSet,
    process_env,
};
pub use readiness::{Attempt, NotReady, Outcome, ReadinessCheck, check_once, wait_until_ready};
