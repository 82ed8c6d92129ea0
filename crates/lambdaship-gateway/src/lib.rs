//! The HTTP fronts of lambdaship: the servers that `lambdaship dev` puts in front of a
//! Python Lambda function so that it is called exactly as API Gateway would call it.
//!
//! [`http1`] reads requests with their header case and order; [`front`] turns each one into
//! the chosen AWS front's event, invokes the function through a [`front::Backend`] and
//! maps the result back with the front's rules (lambdaship-events).

pub mod front;
pub mod http1;
