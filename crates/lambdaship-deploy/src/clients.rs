//! The SDK clients a deploy uses, configured once from the command line and the standard
//! AWS sources (environment, shared config and credentials files, container and instance
//! metadata).

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_http_client::tls;

use crate::error::DeployError;

/// Where to deploy: the endpoint, region and profile, each optional (the SDK's defaults
/// fill them in).
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// Send every call to this URL (a local service, an emulator) instead of AWS.
    pub endpoint_url: Option<String>,
    /// The region; default from AWS_REGION, AWS_DEFAULT_REGION or the profile.
    pub region: Option<String>,
    /// The shared-config profile; default AWS_PROFILE or `default`.
    pub profile: Option<String>,
}

/// How many times the SDK tries a call that was throttled or failed transiently, with
/// exponential backoff and jitter between tries, unless AWS_MAX_ATTEMPTS says otherwise.
const MAX_ATTEMPTS: u32 = 6;

/// The regions AWS Lambda runs in (2026). Checked before any call: a mistyped region
/// otherwise surfaces as a host-name lookup failure after the SDK's retries.
pub const KNOWN_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eusc-de-east-1",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
];

/// The clients of the services a deploy touches.
pub struct Clients {
    /// Lambda.
    pub lambda: aws_sdk_lambda::Client,
    /// IAM, for the execution role.
    pub iam: aws_sdk_iam::Client,
    /// S3, for code over the direct-upload limit.
    pub s3: aws_sdk_s3::Client,
    /// STS, for the account of the default bucket.
    pub sts: aws_sdk_sts::Client,
    /// API Gateway v2, for `--http-api`.
    pub apigateway: aws_sdk_apigatewayv2::Client,
    /// ECR, for image functions' repository and registry login.
    pub ecr: aws_sdk_ecr::Client,
    /// The resolved region.
    pub region: String,
    /// The endpoint every call goes to, when not AWS.
    pub endpoint_url: Option<String>,
}

impl Clients {
    /// Loads the configuration and checks that credentials can be found, so a missing key
    /// is reported once, before any step, with where it was looked for.
    pub async fn connect(target: &Target) -> Result<Clients, DeployError> {
        let sdk = load(target).await;
        let region = sdk
            .region()
            .map(ToString::to_string)
            .ok_or(DeployError::NoRegion)?;
        let provider = sdk
            .credentials_provider()
            .ok_or_else(|| DeployError::NoCredentials {
                detail: "no credential provider is configured".into(),
                profile: target.profile.clone(),
            })?;
        provider
            .provide_credentials()
            .await
            .map_err(|error| DeployError::NoCredentials {
                detail: aws_smithy_types::error::display::DisplayErrorContext(&error).to_string(),
                profile: target.profile.clone(),
            })?;
        let endpoint_url = sdk.endpoint_url().map(str::to_string);
        let lambda_endpoint_set = std::env::var_os("AWS_ENDPOINT_URL_LAMBDA").is_some();
        if endpoint_url.is_none()
            && !lambda_endpoint_set
            && !KNOWN_REGIONS.contains(&region.as_str())
        {
            return Err(DeployError::UnknownRegion(region));
        }
        // A local S3 (an emulator) has no per-bucket host names.
        let s3_config = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(
                endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some(),
            )
            .build();
        Ok(Clients {
            lambda: aws_sdk_lambda::Client::new(&sdk),
            iam: aws_sdk_iam::Client::new(&sdk),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            sts: aws_sdk_sts::Client::new(&sdk),
            apigateway: aws_sdk_apigatewayv2::Client::new(&sdk),
            ecr: aws_sdk_ecr::Client::new(&sdk),
            region,
            endpoint_url,
        })
    }

    /// Where calls go, for messages: the endpoint URL, or AWS in the region.
    pub fn destination(&self) -> String {
        match &self.endpoint_url {
            Some(url) => url.clone(),
            None => format!("AWS ({})", self.region),
        }
    }
}

async fn load(target: &Target) -> SdkConfig {
    // rustls on ring: the SDK's default TLS stack (aws-lc) needs cmake and adds megabytes.
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client);
    // AWS_MAX_ATTEMPTS, when set, is the user's choice and the SDK reads it.
    if std::env::var_os("AWS_MAX_ATTEMPTS").is_none() {
        loader = loader.retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    }
    if let Some(profile) = &target.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &target.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &target.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}
