//! The checks the Lambda API makes on configuration values, with AWS's wording where AWS
//! has one and a fix where it helps.

use std::collections::BTreeMap;

use crate::error::ApiError;

/// Runtimes this machine can run.
pub const RUNNABLE_RUNTIMES: &[&str] = &[
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "provided.al2",
    "provided.al2023",
];

/// Runtimes Lambda no longer accepts for new or updated functions.
const DEPRECATED_RUNTIMES: &[&str] = &[
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "nodejs",
    "nodejs4.3",
    "nodejs4.3-edge",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "java8",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet6",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "provided",
];

/// Runtimes Lambda has and this machine does not run.
const OTHER_RUNTIMES: &[&str] = &[
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
    "nodejs24.x",
    "java8.al2",
    "java11",
    "java17",
    "java21",
    "java25",
    "dotnet8",
    "dotnet10",
    "ruby3.2",
    "ruby3.3",
    "ruby3.4",
    "ruby4.0",
];

/// Lambda's largest memory setting, MB.
pub const MAX_MEMORY_MB: u32 = 10_240;
/// Lambda's longest timeout, seconds.
pub const MAX_TIMEOUT_S: u32 = 900;
/// Most layers per function.
pub const MAX_LAYERS: usize = 5;
/// Largest zip uploaded in the request, bytes.
pub const MAX_ZIP_BYTES: usize = 50 * 1024 * 1024;
/// The request size that corresponds (base64 in JSON), as AWS's message names it.
pub const MAX_CODE_REQUEST_BYTES: usize = 69_905_067;
/// Largest unzipped function plus layers, bytes.
pub const MAX_UNZIPPED_BYTES: u64 = 262_144_000;
/// Largest environment variables, bytes of their JSON.
pub const MAX_ENVIRONMENT_BYTES: usize = 4096;

/// A runtime identifier the function may use.
pub fn runtime(name: &str) -> Result<(), ApiError> {
    if RUNNABLE_RUNTIMES.contains(&name) {
        return Ok(());
    }
    if DEPRECATED_RUNTIMES.contains(&name) {
        return Err(ApiError::invalid(format!(
            "The runtime parameter of {name} is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or upgrading functions."
        )));
    }
    if OTHER_RUNTIMES.contains(&name) {
        return Err(ApiError::invalid(format!(
            "lambdaship server runs Python ({}) and custom runtimes (provided.al2, provided.al2023); {name} functions cannot run here.",
            RUNNABLE_RUNTIMES[..6].join(", ")
        )));
    }
    let all: Vec<&str> = RUNNABLE_RUNTIMES
        .iter()
        .chain(DEPRECATED_RUNTIMES)
        .chain(OTHER_RUNTIMES)
        .copied()
        .collect();
    Err(ApiError::validation(
        name,
        "runtime",
        &format!("Member must satisfy enum value set: [{}]", all.join(", ")),
    ))
}

/// A handler: 1 to 128 characters, no whitespace.
pub fn handler(handler: &str) -> Result<(), ApiError> {
    if handler.is_empty() || handler.len() > 128 || handler.chars().any(char::is_whitespace) {
        return Err(ApiError::validation(
            handler,
            "handler",
            "Member must satisfy regular expression pattern: [^\\s]+ and have length less than or equal to 128",
        ));
    }
    Ok(())
}

/// An execution role ARN, as the model's pattern has it.
pub fn role(role: &str) -> Result<(), ApiError> {
    let fail = || {
        ApiError::validation(
            role,
            "role",
            "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
        )
    };
    let rest = role.strip_prefix("arn:").ok_or_else(fail)?;
    let (partition, rest) = rest.split_once(':').ok_or_else(fail)?;
    let rest = rest.strip_prefix("iam::").ok_or_else(fail)?;
    let (account, path) = rest.split_once(':').ok_or_else(fail)?;
    let path = path.strip_prefix("role").ok_or_else(fail)?;
    let path = path.strip_prefix('/').unwrap_or(path);
    let partition_ok = partition.is_empty()
        || partition
            .strip_prefix("aws")
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_alphabetic() || c == '-'));
    let account_ok = account.len() == 12 && account.chars().all(|c| c.is_ascii_digit());
    let path_ok = !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-/".contains(c));
    if partition_ok && account_ok && path_ok {
        Ok(())
    } else {
        Err(fail())
    }
}

/// Memory, MB: 128 to 10240.
pub fn memory(memory: i64) -> Result<u32, ApiError> {
    if memory < 128 {
        return Err(ApiError::validation(
            &memory.to_string(),
            "memorySize",
            "Member must have value greater than or equal to 128",
        ));
    }
    if memory > i64::from(MAX_MEMORY_MB) {
        return Err(ApiError::invalid(format!(
            "'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to {MAX_MEMORY_MB} (got {memory})"
        )));
    }
    u32::try_from(memory).map_err(|_| ApiError::invalid("MemorySize out of range"))
}

/// Timeout, seconds: 1 to 900.
pub fn timeout(timeout: i64) -> Result<u32, ApiError> {
    if timeout < 1 {
        return Err(ApiError::validation(
            &timeout.to_string(),
            "timeout",
            "Member must have value greater than or equal to 1",
        ));
    }
    if timeout > i64::from(MAX_TIMEOUT_S) {
        return Err(ApiError::invalid(format!(
            "'Timeout' value failed to satisfy constraint: Member must have value less than or equal to {MAX_TIMEOUT_S} (got {timeout})"
        )));
    }
    u32::try_from(timeout).map_err(|_| ApiError::invalid("Timeout out of range"))
}

/// A description: at most 256 characters.
pub fn description(description: &str) -> Result<(), ApiError> {
    if description.chars().count() > 256 {
        return Err(ApiError::validation(
            description,
            "description",
            "Member must have length less than or equal to 256",
        ));
    }
    Ok(())
}

/// `Architectures`: exactly one of `x86_64` and `arm64`.
pub fn architectures(architectures: &[String]) -> Result<String, ApiError> {
    match architectures {
        [one] if one == "x86_64" || one == "arm64" => Ok(one.clone()),
        [one] => Err(ApiError::validation(
            &format!("[{one}]"),
            "architectures",
            "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]",
        )),
        _ => Err(ApiError::validation(
            &format!("[{}]", architectures.join(", ")),
            "architectures",
            "Member must have length less than or equal to 1 and greater than or equal to 1",
        )),
    }
}

/// Ephemeral storage, MB: 512 to 10240.
pub fn ephemeral_storage(size: i64) -> Result<u32, ApiError> {
    if !(512..=10_240).contains(&size) {
        return Err(ApiError::validation(
            &size.to_string(),
            "ephemeralStorage.size",
            "Member must have value between 512 and 10240",
        ));
    }
    u32::try_from(size).map_err(|_| ApiError::invalid("EphemeralStorage out of range"))
}

/// Keys Lambda refuses in a function's configuration besides those it sets itself
/// ([`lambdaship_runtime::RESERVED_VARIABLES`]).
const ALSO_REFUSED_VARIABLES: [&str; 2] = ["AWS_ACCESS_KEY", "AWS_SESSION_TOKEN"];

/// Environment variables: names as Lambda allows, no reserved key, 4 KB in all.
pub fn environment(variables: &BTreeMap<String, String>) -> Result<(), ApiError> {
    let reserved: Vec<&str> = variables
        .keys()
        .map(String::as_str)
        .filter(|key| {
            lambdaship_runtime::RESERVED_VARIABLES.contains(key)
                || ALSO_REFUSED_VARIABLES.contains(key)
        })
        .collect();
    if !reserved.is_empty() {
        return Err(ApiError::invalid(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {}",
            reserved.join(", ")
        )));
    }
    for key in variables.keys() {
        let mut chars = key.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(ApiError::validation(
                key,
                "environment.variables",
                "Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+ for each key",
            ));
        }
    }
    let measured = serde_json::to_string(variables).unwrap_or_default();
    if measured.len() > MAX_ENVIRONMENT_BYTES {
        return Err(ApiError::invalid(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {measured}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_are_sorted_into_runnable_deprecated_other_and_unknown() {
        assert!(runtime("python3.11").is_ok());
        assert!(runtime("provided.al2023").is_ok());
        let code = |name| runtime(name).map_err(|e| e.code);
        assert_eq!(code("python3.8"), Err("InvalidParameterValueException"));
        assert_eq!(code("nodejs22.x"), Err("InvalidParameterValueException"));
        assert_eq!(code("cobol"), Err("ValidationException"));
    }

    #[test]
    fn roles_follow_the_model_pattern() {
        assert!(role("arn:aws:iam::111122223333:role/service-role/my-lambda-role").is_ok());
        assert!(role("arn:aws:iam::111122223333:role/x").is_ok());
        assert!(role("arn:aws:iam::1111:role/x").is_err());
        assert!(role("my-role").is_err());
        assert!(role("arn:aws:iam::111122223333:user/x").is_err());
    }

    #[test]
    fn limits_are_lambdas() {
        assert_eq!(memory(128), Ok(128));
        assert_eq!(memory(10_240), Ok(10_240));
        assert_eq!(memory(127).map_err(|e| e.code), Err("ValidationException"));
        assert_eq!(
            memory(10_241).map_err(|e| e.code),
            Err("InvalidParameterValueException")
        );
        assert_eq!(timeout(900), Ok(900));
        assert!(timeout(0).is_err());
        assert!(timeout(901).is_err());
        assert!(handler("app.main.handler").is_ok());
        assert!(handler("app main").is_err());
    }

    #[test]
    fn environment_refuses_reserved_keys_and_size() {
        let mut vars = BTreeMap::new();
        vars.insert("STAGE".to_string(), "dev".to_string());
        assert!(environment(&vars).is_ok());
        vars.insert("AWS_REGION".to_string(), "x".to_string());
        assert!(environment(&vars).is_err());
        vars.remove("AWS_REGION");
        vars.insert("BIG".to_string(), "x".repeat(5000));
        assert!(environment(&vars).is_err());
    }
}
