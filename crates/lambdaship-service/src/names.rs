//! Names and ARNs: the forms the API accepts for functions and layers, and the ARNs it
//! returns.

use crate::error::ApiError;

/// The region and account every ARN of this service carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// e.g. `us-east-1`.
    pub region: String,
    /// Twelve digits.
    pub account: String,
}

/// A function named in a request: its name and the qualifier written into the name, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    /// The bare function name.
    pub name: String,
    /// `$LATEST`, a version number or an alias, when the name carried one.
    pub qualifier: Option<String>,
}

impl Partition {
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME`.
    pub fn function_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{name}",
            self.region, self.account
        )
    }

    /// The function ARN with a qualifier.
    pub fn qualified_arn(&self, name: &str, qualifier: &str) -> String {
        format!("{}:{qualifier}", self.function_arn(name))
    }

    /// `arn:aws:lambda:REGION:ACCOUNT:layer:NAME`.
    pub fn layer_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:lambda:{}:{}:layer:{name}",
            self.region, self.account
        )
    }

    /// `arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION`.
    pub fn layer_version_arn(&self, name: &str, version: u64) -> String {
        format!("{}:{version}", self.layer_arn(name))
    }

    /// Parses a function name in any form the API accepts: `NAME`, `NAME:QUALIFIER`,
    /// `ACCOUNT:function:NAME[:QUALIFIER]` or the full ARN. An ARN of another region or
    /// account names a function this service cannot hold: not found.
    pub fn parse_function(&self, input: &str) -> Result<FunctionRef, ApiError> {
        let not_here = || {
            ApiError::not_found(format!(
                "Function not found: {input} (this local service holds functions of account {} in {}: arn:aws:lambda:{}:{}:function:NAME)",
                self.account, self.region, self.region, self.account
            ))
        };
        let parts: Vec<&str> = input.split(':').collect();
        let (name, qualifier) = match parts.as_slice() {
            [name] => (*name, None),
            [name, qualifier] => (*name, Some(*qualifier)),
            [account, "function", rest @ ..] if rest.len() <= 2 && !rest.is_empty() => {
                if *account != self.account {
                    return Err(not_here());
                }
                (rest[0], rest.get(1).copied())
            }
            [
                "arn",
                partition,
                "lambda",
                region,
                account,
                "function",
                rest @ ..,
            ] if partition.starts_with("aws") && rest.len() <= 2 && !rest.is_empty() => {
                if *region != self.region || *account != self.account {
                    return Err(not_here());
                }
                (rest[0], rest.get(1).copied())
            }
            _ => {
                return Err(ApiError::validation(
                    input,
                    "functionName",
                    "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
                ));
            }
        };
        check_function_name(name)?;
        if let Some(qualifier) = qualifier {
            check_qualifier(qualifier)?;
        }
        Ok(FunctionRef {
            name: name.to_string(),
            qualifier: qualifier.map(str::to_string),
        })
    }

    /// Parses a layer version ARN of this service into the layer name and version.
    pub fn parse_layer_version_arn(&self, arn: &str) -> Result<(String, u64), ApiError> {
        let parts: Vec<&str> = arn.split(':').collect();
        match parts.as_slice() {
            [
                "arn",
                partition,
                "lambda",
                region,
                account,
                "layer",
                name,
                version,
            ] if partition.starts_with("aws") => {
                let version: u64 = version.parse().map_err(|_| {
                    ApiError::validation(arn, "arn", "Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+")
                })?;
                if *region != self.region || *account != self.account {
                    return Err(ApiError::invalid(format!(
                        "Layer version {arn} does not exist. This local service holds only the layers published to it (arn:aws:lambda:{}:{}:layer:NAME:VERSION); publish the layer here first with publish-layer-version.",
                        self.region, self.account
                    )));
                }
                check_layer_name(name)?;
                Ok((name.to_string(), version))
            }
            _ => Err(ApiError::validation(
                arn,
                "layers",
                "Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+",
            )),
        }
    }

    /// A layer given by name or by layer ARN (without version).
    pub fn parse_layer_name(&self, input: &str) -> Result<String, ApiError> {
        let parts: Vec<&str> = input.split(':').collect();
        let name = match parts.as_slice() {
            [name] => *name,
            ["arn", _, "lambda", region, account, "layer", name]
                if *region == self.region && *account == self.account =>
            {
                *name
            }
            _ => {
                return Err(ApiError::not_found(format!("Layer not found: {input}")));
            }
        };
        check_layer_name(name)?;
        Ok(name.to_string())
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// A function name: 1 to 64 of `[a-zA-Z0-9-_]`.
pub fn check_function_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(is_name_char) {
        return Err(ApiError::validation(
            name,
            "functionName",
            "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ and have length between 1 and 64",
        ));
    }
    Ok(())
}

/// A qualifier: `$LATEST`, a version number or an alias name.
pub fn check_qualifier(qualifier: &str) -> Result<(), ApiError> {
    if qualifier == "$LATEST"
        || (!qualifier.is_empty() && qualifier.len() <= 128 && qualifier.chars().all(is_name_char))
    {
        Ok(())
    } else {
        Err(ApiError::validation(
            qualifier,
            "qualifier",
            "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)",
        ))
    }
}

/// An alias name: `[a-zA-Z0-9-_]+`, not all digits (those are versions).
pub fn check_alias_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty()
        || name.len() > 128
        || !name.chars().all(is_name_char)
        || name.chars().all(|c| c.is_ascii_digit())
    {
        return Err(ApiError::validation(
            name,
            "name",
            "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
        ));
    }
    Ok(())
}

/// A layer name: 1 to 140 of `[a-zA-Z0-9-_]`.
pub fn check_layer_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty() || name.len() > 140 || !name.chars().all(is_name_char) {
        return Err(ApiError::validation(
            name,
            "layerName",
            "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn here() -> Partition {
        Partition {
            region: "us-east-1".to_string(),
            account: "000000000000".to_string(),
        }
    }

    #[test]
    fn every_accepted_form_names_the_function() {
        let p = here();
        let plain = FunctionRef {
            name: "f".to_string(),
            qualifier: None,
        };
        let v1 = FunctionRef {
            name: "f".to_string(),
            qualifier: Some("v1".to_string()),
        };
        assert_eq!(p.parse_function("f"), Ok(plain.clone()));
        assert_eq!(p.parse_function("f:v1"), Ok(v1.clone()));
        assert_eq!(
            p.parse_function("000000000000:function:f"),
            Ok(plain.clone())
        );
        assert_eq!(
            p.parse_function("arn:aws:lambda:us-east-1:000000000000:function:f:v1"),
            Ok(v1)
        );
        assert_eq!(
            p.parse_function("arn:aws:lambda:eu-west-1:000000000000:function:f")
                .map_err(|e| e.code),
            Err("ResourceNotFoundException")
        );
        assert_eq!(
            p.parse_function("a b").map_err(|e| e.code),
            Err("ValidationException")
        );
    }

    #[test]
    fn layer_arns_round_trip() {
        let p = here();
        let arn = p.layer_version_arn("deps", 3);
        assert_eq!(p.parse_layer_version_arn(&arn), Ok(("deps".to_string(), 3)));
        assert_eq!(
            p.parse_layer_version_arn("arn:aws:lambda:region:111122223333:layer:deps:1")
                .map_err(|e| e.code),
            Err("InvalidParameterValueException")
        );
    }
}
