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
pub mod input;
pub mod model;
mod roles;
pub mod xml;

use hyper::Method;

use self::error::IamError;
use self::input::Form;
use self::xml::Element;
use crate::Service;
use crate::http::{Call, Reply};

/// IAM's API version, the only one answered.
pub const VERSION: &str = "2010-05-08";

/// The XML namespace of IAM's answers.
pub const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// What an operation answers: the fields of its `<ActionResult>`, or `None` for operations
/// without a result.
type Outcome = Result<Option<Vec<Element>>, IamError>;

/// Whether `call` is an awsQuery request: `POST /` with a form body (by its content type,
/// or by an `Action` in it when a client sends none).
pub fn is_query_call(call: &Call) -> bool {
    if call.method != Method::POST || !call.segments.is_empty() {
        return false;
    }
    let form_type = call.header("content-type").is_some_and(|value| {
        value.split(';').next().is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    form_type || Form::parse(&call.body).get("Action").is_some()
}

impl Service {
    /// Answers an awsQuery request (see [`is_query_call`]).
    pub(crate) fn query_api(&self, call: &Call) -> Reply {
        let request_id = uuid::Uuid::new_v4().to_string();
        let form = Form::parse(&call.body);
        let Some(action) = form.get("Action") else {
            return IamError::missing_action().reply(&request_id);
        };
        match self.run_action(action, &form, call) {
            Ok(result) => Reply {
                status: 200,
                headers: vec![("content-type", "text/xml".to_string())],
                body: xml::response(action, result, &request_id).into(),
                request_id: Some(request_id),
            },
            Err(error) => error.reply(&request_id),
        }
    }

    fn run_action(&self, action: &str, form: &Form, call: &Call) -> Outcome {
        // Clients always send Version; one that does not means the current one.
        let version = form.get("Version").unwrap_or(VERSION);
        let unknown = || IamError::invalid_action(action, version, signed_service(call).as_deref());
        if version != VERSION {
            return Err(unknown());
        }
        match action {
            "CreateRole" => self.create_role(form),
            "GetRole" => self.get_role(form),
            "DeleteRole" => self.delete_role(form),
            "ListRoles" => self.list_roles(form),
            "AttachRolePolicy" => self.attach_role_policy(form),
            "DetachRolePolicy" => self.detach_role_policy(form),
            "ListAttachedRolePolicies" => self.list_attached_role_policies(form),
            _ => Err(unknown()),
        }
    }
}

/// The service a SigV4 `Authorization` header's credential scope names
/// (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`). Signatures are not verified here;
/// the scope only says which service the caller meant.
fn signed_service(call: &Call) -> Option<String> {
    lambdaship_sigv4::credential_service(call.header("authorization")?).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use hyper::HeaderMap;

    fn call(method: Method, path: &[&str], headers: &[(&'static str, &str)], body: &str) -> Call {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, value.parse().unwrap());
        }
        Call {
            method,
            segments: path.iter().map(|s| s.to_string()).collect(),
            query: Vec::new(),
            headers: map,
            body: Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn query_calls_are_posts_to_the_root_with_a_form() {
        let form = [(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )];
        assert!(is_query_call(&call(
            Method::POST,
            &[],
            &form,
            "Action=GetRole"
        )));
        assert!(is_query_call(&call(
            Method::POST,
            &[],
            &[],
            "Action=GetRole&Version=2010-05-08"
        )));
        assert!(!is_query_call(&call(Method::POST, &[], &[], "{}")));
        assert!(!is_query_call(&call(
            Method::GET,
            &[],
            &form,
            "Action=GetRole"
        )));
        assert!(!is_query_call(&call(
            Method::POST,
            &["2015-03-31", "functions"],
            &form,
            "Action=GetRole"
        )));
    }

    #[test]
    fn the_signed_service_comes_from_the_credential_scope() {
        let signed = call(
            Method::POST,
            &[],
            &[(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=00",
            )],
            "",
        );
        assert_eq!(signed_service(&signed).as_deref(), Some("sts"));
        assert_eq!(signed_service(&call(Method::POST, &[], &[], "")), None);
    }
}
