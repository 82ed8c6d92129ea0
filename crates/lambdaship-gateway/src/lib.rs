//! The HTTP fronts of lambdaship: the servers that `lambdaship dev` puts in front of a
//! Python Lambda function so that it is called exactly as API Gateway would call it.

pub mod http1;
