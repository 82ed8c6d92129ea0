//! The parameters of an awsQuery request (the form body) and the checks IAM's model puts on
//! them, failing with IAM's wording.

use super::error::IamError;

/// The form body of an awsQuery request: `Action`, `Version` and the operation's
/// parameters, lists flattened as `Name.member.N[.Field]`.
#[derive(Debug, Clone, Default)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Decodes a `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Form {
        Form {
            pairs: form_urlencoded::parse(body).into_owned().collect(),
        }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of a required parameter; `field` is its name in IAM's messages.
    pub fn required(&self, key: &str, field: &str) -> Result<&str, IamError> {
        self.get(key).ok_or_else(|| IamError::missing(field))
    }

    /// A list of structures with two fields, `{list}.member.N.{first}` and
    /// `{list}.member.N.{second}`, N from 1 until the first absent item.
    pub fn pairs_list(&self, list: &str, first: &str, second: &str) -> Vec<(String, String)> {
        let mut items = Vec::new();
        for n in 1.. {
            let prefix = format!("{list}.member.{n}.");
            let (Some(a), b) = (
                self.get(&format!("{prefix}{first}")),
                self.get(&format!("{prefix}{second}")),
            ) else {
                break;
            };
            items.push((a.to_string(), b.unwrap_or_default().to_string()));
        }
        items
    }
}

/// IAM's `\w` in name patterns is ASCII: letters, digits and underscore.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// A role name: 1 to 64 of `[\w+=,.@-]`.
pub fn check_role_name(name: &str) -> Result<(), IamError> {
    if name.is_empty() || name.len() > 64 {
        return Err(IamError::validation(
            Some(name),
            "roleName",
            "Member must have length less than or equal to 64",
        ));
    }
    if !name.chars().all(is_name_char) {
        return Err(IamError::validation(
            Some(name),
            "roleName",
            "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
        ));
    }
    Ok(())
}

/// A role path: `/`, or `/` + printable ASCII + `/`, at most 512 characters.
pub fn check_path(path: &str) -> Result<(), IamError> {
    let inner_ok =
        |inner: &str| !inner.is_empty() && inner.chars().all(|c| ('!'..='~').contains(&c));
    let shaped = path == "/"
        || path
            .strip_prefix('/')
            .and_then(|rest| rest.strip_suffix('/'))
            .is_some_and(inner_ok);
    if !shaped || path.len() > 512 {
        return Err(IamError::validation(
            Some(path),
            "path",
            "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
        ));
    }
    Ok(())
}

/// A path prefix filter of ListRoles: `/` then printable ASCII, at most 512 characters.
pub fn check_path_prefix(prefix: &str) -> Result<(), IamError> {
    let shaped = prefix
        .strip_prefix('/')
        .is_some_and(|rest| rest.chars().all(|c| ('!'..='\u{7f}').contains(&c)));
    if !shaped || prefix.len() > 512 {
        return Err(IamError::validation(
            Some(prefix),
            "pathPrefix",
            "Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*",
        ));
    }
    Ok(())
}

/// A path prefix filter of ListAttachedRolePolicies: `/` or `/a/b/`, segments of
/// `[A-Za-z0-9.,+@=_-]`.
pub fn check_policy_path_prefix(prefix: &str) -> Result<(), IamError> {
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".,+@=_-".contains(c))
    };
    let shaped = prefix == "/"
        || prefix
            .strip_prefix('/')
            .and_then(|rest| rest.strip_suffix('/'))
            .is_some_and(|inner| inner.split('/').all(segment_ok));
    if !shaped || prefix.len() > 512 {
        return Err(IamError::validation(
            Some(prefix),
            "pathPrefix",
            "Member must satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/",
        ));
    }
    Ok(())
}

/// The longest policy document IAM accepts, characters.
const MAX_POLICY_DOCUMENT: usize = 131_072;

/// A policy document's model constraints: Latin-1 text with tabs and line breaks, 1 to
/// 131072 characters.
pub fn check_policy_document(document: &str, field: &str) -> Result<(), IamError> {
    let latin1 = |c: char| matches!(c, '\t' | '\n' | '\r') || (' '..='\u{ff}').contains(&c);
    if document.is_empty() || document.chars().count() > MAX_POLICY_DOCUMENT {
        return Err(IamError::validation(
            Some(document),
            field,
            "Member must have length less than or equal to 131072",
        ));
    }
    if !document.chars().all(latin1) {
        return Err(IamError::validation(
            Some(document),
            field,
            "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
        ));
    }
    Ok(())
}

/// A policy document's content: a JSON object. Checked after every model constraint, as
/// IAM reports those first.
pub fn check_policy_json(document: &str) -> Result<(), IamError> {
    match serde_json::from_str::<serde_json::Value>(document) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err(IamError::malformed_policy("Syntax errors in policy.")),
        Err(_) => Err(IamError::malformed_policy(
            "This policy contains invalid Json",
        )),
    }
}

/// A role description: at most 1000 characters of printable Latin-1, tabs and line breaks.
pub fn check_description(description: &str) -> Result<(), IamError> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r')
            || (' '..='~').contains(&c)
            || ('\u{a1}'..='\u{ff}').contains(&c)
    };
    if description.chars().count() > 1000 {
        return Err(IamError::validation(
            Some(description),
            "description",
            "Member must have length less than or equal to 1000",
        ));
    }
    if !description.chars().all(allowed) {
        return Err(IamError::validation(
            Some(description),
            "description",
            "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*",
        ));
    }
    Ok(())
}

/// Lambda's and STS's bounds of a role's session: one to twelve hours.
const SESSION_SECONDS: std::ops::RangeInclusive<u32> = 3600..=43_200;

/// MaxSessionDuration: 3600 to 43200 seconds, 3600 when absent.
pub fn max_session_duration(value: Option<&str>) -> Result<u32, IamError> {
    let Some(value) = value else {
        return Ok(*SESSION_SECONDS.start());
    };
    let field = "maxSessionDuration";
    let seconds: i64 = value
        .parse()
        .map_err(|_| IamError::validation(Some(value), field, "Member must be an integer"))?;
    if seconds < i64::from(*SESSION_SECONDS.start()) {
        return Err(IamError::validation(
            Some(value),
            field,
            "Member must have value greater than or equal to 3600",
        ));
    }
    u32::try_from(seconds)
        .ok()
        .filter(|s| SESSION_SECONDS.contains(s))
        .ok_or_else(|| {
            IamError::validation(
                Some(value),
                field,
                "Member must have value less than or equal to 43200",
            )
        })
}

/// Tags: at most 50, keys of 1 to 128 characters, values of at most 256, keys unique.
pub fn check_tags(tags: &[(String, String)]) -> Result<(), IamError> {
    if tags.len() > 50 {
        return Err(IamError::validation(
            Some(&format!("{} tags", tags.len())),
            "tags",
            "Member must have length less than or equal to 50",
        ));
    }
    for (index, (key, value)) in tags.iter().enumerate() {
        if key.is_empty() || key.chars().count() > 128 {
            return Err(IamError::validation(
                Some(key),
                "tags.member.key",
                "Member must have length between 1 and 128",
            ));
        }
        if value.chars().count() > 256 {
            return Err(IamError::validation(
                Some(value),
                "tags.member.value",
                "Member must have length less than or equal to 256",
            ));
        }
        let lowered = key.to_lowercase();
        if tags[..index]
            .iter()
            .any(|(earlier, _)| earlier.to_lowercase() == lowered)
        {
            return Err(IamError::invalid_input(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    Ok(())
}

/// A managed policy's ARN, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyArn<'a> {
    /// `aws` for AWS managed policies, else the twelve-digit account.
    pub account: &'a str,
    /// The policy's path, `/` or `/a/b/`.
    pub path: String,
    /// The policy's name: the ARN's last segment.
    pub name: &'a str,
}

/// Reads `arn:PARTITION:iam::ACCOUNT:policy/[PATH/]NAME`, ACCOUNT being `aws` or twelve
/// digits. Anything else is IAM's InvalidInput (or a ValidationError under 20 characters).
pub fn parse_policy_arn(arn: &str) -> Result<PolicyArn<'_>, IamError> {
    if arn.len() < 20 || arn.len() > 2048 {
        return Err(IamError::validation(
            Some(arn),
            "policyArn",
            "Member must have length greater than or equal to 20",
        ));
    }
    let invalid = || IamError::invalid_input(format!("ARN {arn} is not valid."));
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", partition, "iam", "", account, resource] = parts.as_slice() else {
        return Err(invalid());
    };
    let account_ok =
        *account == "aws" || (account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()));
    if !partition.starts_with("aws") || !account_ok {
        return Err(invalid());
    }
    let path_and_name = resource.strip_prefix("policy/").ok_or_else(invalid)?;
    let (path, name) = match path_and_name.rsplit_once('/') {
        Some((path, name)) => (format!("/{path}/"), name),
        None => ("/".to_string(), path_and_name),
    };
    if name.is_empty() || name.len() > 128 || !name.chars().all(is_name_char) {
        return Err(invalid());
    }
    if path != "/" {
        check_path(&path).map_err(|_| invalid())?;
    }
    Ok(PolicyArn {
        account,
        path,
        name,
    })
}

/// MaxItems of a list: 1 to 1000, 100 when absent.
pub fn max_items(value: Option<&str>) -> Result<usize, IamError> {
    let Some(value) = value else { return Ok(100) };
    value
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=1000).contains(n))
        .ok_or_else(|| {
            IamError::validation(
                Some(value),
                "maxItems",
                "Member must have value between 1 and 1000",
            )
        })
}

/// Marker of a list: the position this service handed out in the previous page.
pub fn marker(value: Option<&str>) -> Result<usize, IamError> {
    let Some(value) = value else { return Ok(0) };
    value
        .parse::<usize>()
        .map_err(|_| IamError::invalid_input(format!("Invalid Marker: {value}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_follow_the_model() {
        assert!(check_role_name("lambda-role_1+=,.@").is_ok());
        assert!(check_role_name(&"r".repeat(64)).is_ok());
        for bad in ["", "has space", "slash/", "é", &"r".repeat(65)] {
            let error = check_role_name(bad).unwrap_err();
            assert_eq!(error.code, "ValidationError", "{bad}");
            assert!(error.message.contains("'roleName'"), "{}", error.message);
        }
    }

    #[test]
    fn paths_begin_and_end_with_a_slash() {
        for good in ["/", "/service-role/", "/a/b/"] {
            assert!(check_path(good).is_ok(), "{good}");
        }
        for bad in ["", "a", "/a", "a/", "//", "/a b/"] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn policy_documents_are_json_objects() {
        let trust = r#"{"Version":"2012-10-17","Statement":[]}"#;
        assert!(check_policy_document(trust, "assumeRolePolicyDocument").is_ok());
        assert!(check_policy_json(trust).is_ok());
        let error = check_policy_json("{not json").unwrap_err();
        assert_eq!(error.code, "MalformedPolicyDocument");
        assert_eq!(error.message, "This policy contains invalid Json");
        let error = check_policy_json("[1]").unwrap_err();
        assert_eq!(error.code, "MalformedPolicyDocument");
        let error = check_policy_document("{\"a\":\"☃\"}", "assumeRolePolicyDocument").unwrap_err();
        assert_eq!(error.code, "ValidationError");
    }

    #[test]
    fn session_durations_are_one_to_twelve_hours() {
        assert_eq!(max_session_duration(None), Ok(3600));
        assert_eq!(max_session_duration(Some("43200")), Ok(43200));
        for bad in ["3599", "43201", "-1", "x", "99999999999999999999"] {
            let error = max_session_duration(Some(bad)).unwrap_err();
            assert_eq!(error.code, "ValidationError", "{bad}");
        }
    }

    #[test]
    fn policy_arns_are_taken_apart() {
        assert_eq!(
            parse_policy_arn("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"),
            Ok(PolicyArn {
                account: "aws",
                path: "/service-role/".to_string(),
                name: "AWSLambdaBasicExecutionRole",
            })
        );
        assert_eq!(
            parse_policy_arn("arn:aws:iam::000000000000:policy/mine").map(|arn| (
                arn.account,
                arn.path,
                arn.name
            )),
            Ok(("000000000000", "/".to_string(), "mine"))
        );
        for bad in [
            "arn:aws:iam::aws:role/service-role/SomeRole",
            "arn:aws:s3:::bucket/policy/name",
            "arn:aws:iam::12345:policy/name",
            "arn:aws:iam::aws:policy/",
            "not an arn at all, but long",
        ] {
            assert_eq!(
                parse_policy_arn(bad).unwrap_err().code,
                "InvalidInput",
                "{bad}"
            );
        }
        assert_eq!(
            parse_policy_arn("arn:x").unwrap_err().code,
            "ValidationError"
        );
    }

    #[test]
    fn lists_of_pairs_stop_at_the_first_gap() {
        let form = Form::parse(
            b"Tags.member.1.Key=a&Tags.member.1.Value=1&Tags.member.2.Key=b&Tags.member.4.Key=d",
        );
        assert_eq!(
            form.pairs_list("Tags", "Key", "Value"),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), String::new())
            ]
        );
    }
}
