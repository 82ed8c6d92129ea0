//! The size limits the fronts and Lambda enforce.

/// Lambda's limit on a synchronous invocation's event and response: 6 MiB.
pub const LAMBDA_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// API Gateway's limit on a request body (REST and HTTP APIs): 10 MB.
pub const API_GATEWAY_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// An ALB's limit on the body of a request to a Lambda target, and on the response JSON:
/// 1 MB (ELB guide, "Use Lambda functions as targets").
pub const ALB_LAMBDA_LIMIT: usize = 1024 * 1024;
