//! The part of IAM a deploy tool needs, on the Lambda API's port.
//!
//! An SDK pointed at one `--endpoint-url` sends every service's calls there, IAM's included,
//! so `lambdaship deploy` creating an execution role reaches this server too. IAM speaks
//! awsQuery: `POST /` with a form body naming `Action` and `Version`, answered in XML. No
//! Lambda operation lives at `POST /`, so that is what tells the two apart.
//!
//! Roles are stored with the functions and survive restarts. They are records only: nothing
//! here assumes them, and CreateFunction accepts any well-formed role ARN whether or not the
//! role exists here.

pub mod error;
pub mod model;
pub mod xml;

/// IAM's API version, the only one answered.
pub const VERSION: &str = "2010-05-08";

/// The XML namespace of IAM's answers.
pub const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
