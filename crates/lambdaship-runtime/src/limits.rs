//! Lambda's fixed limits, as the service enforces them.

use std::time::Duration;

/// Largest synchronous event a function accepts (6 MB), as the Invoke API counts it.
pub const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024;

/// Largest buffered response the Runtime API accepts: Lambda's figure is 6 MB plus 100
/// bytes, and its error message names that exact number.
pub const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024 + 100;

/// Largest streamed response (200 MB).
pub const MAX_STREAMED_RESPONSE_BYTES: usize = 200 * 1024 * 1024;

/// The INIT phase's own bound; past it, Lambda retries init inside the first invoke.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Most extensions one function may register.
pub const MAX_EXTENSIONS: usize = 10;

/// Time the runtime gets between SIGTERM and SIGKILL at shutdown when extensions exist.
pub const RUNTIME_SHUTDOWN_GRACE: Duration = Duration::from_millis(300);

/// Time the runtime gets when an internal extension is registered.
pub const RUNTIME_SHUTDOWN_GRACE_INTERNAL: Duration = Duration::from_millis(500);

/// The whole SHUTDOWN phase when external extensions are registered.
pub const SHUTDOWN_WITH_EXTERNAL: Duration = Duration::from_millis(2000);

/// The whole SHUTDOWN phase when only internal extensions are registered.
pub const SHUTDOWN_WITH_INTERNAL: Duration = Duration::from_millis(500);
