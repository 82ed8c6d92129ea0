//! Whether a role's trust policy lets Lambda assume it, read before the function is
//! created so a wrong role is refused up front with the fix, instead of by CreateFunction
//! after the layer and the upload.

use serde_json::Value;

/// The service principal Lambda assumes roles as.
const LAMBDA_PRINCIPAL: &str = "lambda.amazonaws.com";

/// What a trust policy says about Lambda.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LambdaTrust {
    /// An Allow statement names Lambda (its conditions, if any, are not evaluated here).
    Allowed,
    /// No statement allows Lambda, or an unconditional Deny names it.
    NotAllowed,
    /// The document is not a policy this check understands: leave the verdict to Lambda.
    Unknown,
}

/// Reads `document` as IAM returns it: JSON, percent-encoded in the API's answers.
pub(crate) fn lambda_trust(document: &str) -> LambdaTrust {
    let decoded = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
    let Ok(policy) = serde_json::from_str::<Value>(&decoded) else {
        return LambdaTrust::Unknown;
    };
    let statements = match policy.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect::<Vec<_>>(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => return LambdaTrust::Unknown,
    };
    let names_lambda = |statement: &Value| {
        allows_assume_role(statement.get("Action")) && names_lambda(statement.get("Principal"))
    };
    let denied = statements
        .iter()
        .any(|s| effect(s) == Some("Deny") && s.get("Condition").is_none() && names_lambda(s));
    let allowed = statements
        .iter()
        .any(|s| effect(s) == Some("Allow") && names_lambda(s));
    if allowed && !denied {
        LambdaTrust::Allowed
    } else {
        LambdaTrust::NotAllowed
    }
}

fn effect(statement: &Value) -> Option<&str> {
    statement.get("Effect").and_then(Value::as_str)
}

/// The statement the trust policy needs, for messages.
pub(crate) const LAMBDA_TRUST_STATEMENT: &str = r#"{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}"#;

fn allows_assume_role(action: Option<&Value>) -> bool {
    strings(action).iter().any(|a| {
        matches!(
            a.to_ascii_lowercase().as_str(),
            "sts:assumerole" | "sts:*" | "*"
        )
    })
}

fn names_lambda(principal: Option<&Value>) -> bool {
    match principal {
        Some(Value::String(all)) => all == "*",
        Some(Value::Object(map)) => {
            strings(map.get("Service")).contains(&LAMBDA_PRINCIPAL)
                || strings(map.get("AWS")).contains(&"*")
        }
        _ => false,
    }
}

/// A policy field that holds one string or a list of them.
fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_who_may_assume_the_role() {
        let lambda = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(lambda_trust(lambda), LambdaTrust::Allowed);
        let encoded: String =
            percent_encoding::utf8_percent_encode(lambda, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        assert_eq!(lambda_trust(&encoded), LambdaTrust::Allowed);
        let several = r#"{"Statement":{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},"Action":["sts:AssumeRole","sts:TagSession"]}}"#;
        assert_eq!(lambda_trust(several), LambdaTrust::Allowed);
        let ec2 = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(lambda_trust(ec2), LambdaTrust::NotAllowed);
        let denied = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:*"}]}"#;
        assert_eq!(lambda_trust(denied), LambdaTrust::NotAllowed);
        assert_eq!(lambda_trust("not json"), LambdaTrust::Unknown);
    }
}
