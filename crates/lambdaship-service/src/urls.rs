//! Function URLs served by the service: `http://HOST:PORT/lambda-url/ID-OR-NAME/...` and
//! any request whose Host is `ID-OR-NAME.lambda-url.REGION.localhost`. The request becomes
//! a Function URL event (lambdaship-events), AWS_IAM URLs check the SigV4 signature first,
//! and RESPONSE_STREAM URLs stream the function's answer.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use lambdaship_events::cors::Cors;
use lambdaship_events::{Front, HttpRequest, HttpResponse, IamIdentity, Kind};
use lambdaship_gateway::front::{
    Backend, FrontLog, Gateway, Invocation, InvokeFailed, Invoked, full,
};
use lambdaship_gateway::http1;
use lambdaship_runtime::{FunctionResult, InvokeRequest};
use tokio::sync::mpsc;

use crate::Service;
use crate::model::{FunctionUrl, InvokeMode, UrlAuth, UrlCors};

/// The path prefix of Function URLs on the service's own address.
const PATH_PREFIX: &str = "/lambda-url/";

/// A request addressed to a Function URL: which one, and the path the function sees.
#[derive(Debug, PartialEq, Eq)]
pub struct UrlTarget {
    /// The URL id or the function name.
    pub key: String,
    /// The path after the URL's own prefix (at least `/`).
    pub path: String,
}

/// Whether a request with this Host and path goes to a Function URL.
pub fn target(host: Option<&str>, path: &str) -> Option<UrlTarget> {
    if let Some(host) = host {
        let name = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
        if let Some((key, rest)) = name.split_once(".lambda-url.")
            && rest.ends_with(".localhost")
            && !key.is_empty()
        {
            return Some(UrlTarget {
                key: key.to_string(),
                path: path.to_string(),
            });
        }
    }
    let rest = path.strip_prefix(PATH_PREFIX)?;
    let (key, tail) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    (!key.is_empty()).then(|| UrlTarget {
        key: key.to_string(),
        path: tail.to_string(),
    })
}

/// Runs a function of the service for a front.
pub struct FunctionBackend {
    /// The service.
    pub service: Arc<Service>,
    /// The function.
    pub function: String,
    /// The alias, when the URL belongs to one.
    pub qualifier: Option<String>,
}

impl Backend for FunctionBackend {
    fn invoke(&self, event: Bytes, stream: Option<mpsc::Sender<Bytes>>) -> Invocation<'_> {
        Box::pin(async move {
            let request = InvokeRequest {
                payload: event,
                stream_to: stream,
                ..InvokeRequest::default()
            };
            let outcome = self
                .service
                .invoke_function(&self.function, self.qualifier.as_deref(), request)
                .await
                .map_err(|error| InvokeFailed {
                    reason: format!("{}: {}", error.code, error.message),
                    throttled: error.status == 429,
                })?;
            let function_error = matches!(outcome.result, FunctionResult::Error { .. });
            Ok(Invoked {
                payload: outcome.result.payload().clone(),
                function_error,
                streamed: outcome.streamed,
            })
        })
    }
}

/// Front log lines on the service's output, prefixed like the function's own.
pub struct ServiceFrontLog {
    /// The service (its echo setting decides).
    pub service: Arc<Service>,
    /// The function.
    pub function: String,
}

impl FrontLog for ServiceFrontLog {
    fn line(&self, text: &str) {
        self.service
            .notice(&self.function, &format!("function URL: {text}"));
    }
}

impl Service {
    /// Answers a request to a Function URL.
    pub async fn serve_url(
        self: Arc<Self>,
        target: UrlTarget,
        mut request: HttpRequest,
    ) -> http1::Response {
        let Some((function, qualifier, url)) = self.find_url(&target.key) else {
            // What AWS answers for a host that names no URL.
            return full(HttpResponse {
                status: 404,
                reason: None,
                headers: vec![("content-type".to_string(), "application/json".to_string())],
                body: Bytes::from_static(b"{\"Message\":null}"),
            });
        };
        let iam = match url.auth {
            UrlAuth::None => None,
            UrlAuth::AwsIam => match self.verify_signature(&request) {
                Ok(identity) => Some(identity),
                Err(refusal) => {
                    self.notice(
                        &function,
                        &format!(
                            "function URL: {} {} -> {} {}",
                            request.method, request.path, refusal.status, refusal.error_type
                        ),
                    );
                    return full(refusal.response());
                }
            },
        };
        request.path = target.path;
        let front = Front {
            kind: Kind::FunctionUrl,
            stage: "$default".to_string(),
            stage_variables: Default::default(),
            binary_media_types: Vec::new(),
            api_id: url.url_id.clone(),
            account_id: self.partition.account.clone(),
            region: self.partition.region.clone(),
            domain_name: None,
            target_group_arn: String::new(),
        };
        let gateway = Gateway {
            front,
            cors: url.cors.as_ref().map(cors_of),
            streaming: url.invoke_mode == InvokeMode::ResponseStream,
            backend: Arc::new(FunctionBackend {
                service: self.clone(),
                function: function.clone(),
                qualifier: (!qualifier.is_empty()).then(|| qualifier.clone()),
            }),
            log: Arc::new(ServiceFrontLog {
                service: self.clone(),
                function,
            }),
        };
        gateway.handle(request, iam).await
    }

    /// The URL whose id is `key`, or the unqualified URL of the function named `key`.
    fn find_url(&self, key: &str) -> Option<(String, String, FunctionUrl)> {
        let functions = self.store.functions();
        for doc in &functions {
            for (qualifier, url) in &doc.urls {
                if url.url_id.eq_ignore_ascii_case(key) {
                    return Some((doc.latest.name.clone(), qualifier.clone(), url.clone()));
                }
            }
        }
        functions.iter().find_map(|doc| {
            let url = doc.urls.get("")?;
            // Host names arrive lowercased; function names may have capitals.
            doc.latest
                .name
                .eq_ignore_ascii_case(key)
                .then(|| (doc.latest.name.clone(), String::new(), url.clone()))
        })
    }

    /// SigV4 (service `lambda`) against the credentials the server was started with.
    fn verify_signature(&self, request: &HttpRequest) -> Result<IamIdentity, UrlRefusal> {
        let signed = lambdaship_sigv4::SignedRequest {
            method: &request.method,
            path: &request.path,
            query: request.query.as_deref(),
            headers: &request.headers,
            body: &request.body,
        };
        let verified = lambdaship_sigv4::verify(&signed, "lambda", SystemTime::now(), |key| {
            self.credentials
                .iter()
                .find(|c| c.access_key_id == key)
                .cloned()
        })
        .map_err(|refusal| UrlRefusal {
            status: refusal.status(),
            error_type: refusal.error_type(),
            body: refusal.body(),
        })?;
        let account = self.partition.account.clone();
        Ok(IamIdentity {
            access_key: verified.access_key_id.clone(),
            account_id: account.clone(),
            caller_id: verified.access_key_id,
            user_arn: format!("arn:aws:iam::{account}:root"),
            user_id: account,
        })
    }
}

/// A signature refusal, as AWS sends it.
struct UrlRefusal {
    status: u16,
    error_type: &'static str,
    body: String,
}

impl UrlRefusal {
    fn response(&self) -> HttpResponse {
        HttpResponse {
            status: self.status,
            reason: None,
            headers: vec![
                ("content-type".to_string(), "application/json".to_string()),
                ("x-amzn-ErrorType".to_string(), self.error_type.to_string()),
            ],
            body: Bytes::from(self.body.clone()),
        }
    }
}

fn cors_of(cors: &UrlCors) -> Cors {
    Cors {
        allow_origins: cors.allow_origins.clone().unwrap_or_default(),
        allow_methods: cors.allow_methods.clone().unwrap_or_default(),
        allow_headers: cors.allow_headers.clone().unwrap_or_default(),
        expose_headers: cors.expose_headers.clone().unwrap_or_default(),
        max_age: cors.max_age,
        allow_credentials: cors.allow_credentials.unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_found_by_path_or_host() {
        assert_eq!(
            target(None, "/lambda-url/fn/a/b"),
            Some(UrlTarget {
                key: "fn".into(),
                path: "/a/b".into()
            })
        );
        assert_eq!(
            target(None, "/lambda-url/fn"),
            Some(UrlTarget {
                key: "fn".into(),
                path: "/".into()
            })
        );
        assert_eq!(
            target(Some("abc.lambda-url.us-east-1.localhost:9001"), "/x"),
            Some(UrlTarget {
                key: "abc".into(),
                path: "/x".into()
            })
        );
        assert_eq!(
            target(Some("127.0.0.1:9001"), "/2015-03-31/functions"),
            None
        );
        assert_eq!(target(None, "/lambda-url/"), None);
    }
}
