//! `web = "gunicorn -b 127.0.0.1:8080 app:app"`: a function that is an unmodified web app,
//! run behind lambdaship's web adapter instead of a handler.
//!
//! On Lambda the adapter is an external extension (`/opt/extensions/lambdaship-adapter`); the
//! managed runtime's start is replaced, through `AWS_LAMBDA_EXEC_WRAPPER`, by a wrapper that
//! runs the web command. These are the names the build, the local runtime and deploy agree on.

/// The Lambda `Handler` of a web function: the script in the task root that runs the web
/// command (the exec wrapper runs `$LAMBDA_TASK_ROOT/$_HANDLER`, as the Lambda Web
/// Adapter's layer does with `run.sh`).
pub const WEB_HANDLER: &str = "lambdaship-web";
/// Where the exec wrapper lives on Lambda.
pub const EXEC_WRAPPER_PATH: &str = "/opt/lambdaship-exec-wrapper";
/// The adapter's path inside a layer (`/opt/extensions/...` on Lambda).
pub const ADAPTER_LAYER_PATH: &str = "extensions/lambdaship-adapter";
/// The port a web app listens on unless `web_port` says otherwise (the adapter's default).
pub const DEFAULT_WEB_PORT: u16 = 8080;

/// A web function's command and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebApp {
    /// The command as written, e.g. `gunicorn -b 127.0.0.1:8080 app:app`.
    pub command: String,
    /// Its words, split as a POSIX shell splits them.
    pub words: Vec<String>,
    /// The port it listens on.
    pub port: u16,
}

impl WebApp {
    /// Checks and splits `command`; the message says what is wrong.
    pub fn new(command: &str, port: Option<i64>) -> Result<WebApp, String> {
        let words = shlex::split(command).ok_or_else(|| {
            format!("`{command}` is not a valid command line (an unclosed quote or a trailing backslash?)")
        })?;
        if words.is_empty() {
            return Err(
                "the web command is empty: give the command that starts the app, e.g. `gunicorn -b 127.0.0.1:8080 app:app`"
                    .to_string(),
            );
        }
        let port = match port {
            None => DEFAULT_WEB_PORT,
            Some(port) => u16::try_from(port)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("web_port {port} is not a TCP port (1-65535)"))?,
        };
        Ok(WebApp {
            command: command.to_string(),
            words,
            port,
        })
    }

    /// The variables the adapter and the wrapper need, which a web function's own
    /// environment must not contradict.
    pub fn environment(&self) -> [(&'static str, String); 2] {
        [
            ("AWS_LAMBDA_EXEC_WRAPPER", EXEC_WRAPPER_PATH.to_string()),
            ("AWS_LWA_PORT", self.port.to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_as_a_shell_splits_them() {
        let app =
            WebApp::new("gunicorn -b '127.0.0.1:8080' \"app:create_app()\"", None).expect("valid");
        assert_eq!(
            app.words,
            ["gunicorn", "-b", "127.0.0.1:8080", "app:create_app()"]
        );
        assert_eq!(app.port, 8080);
        assert_eq!(
            WebApp::new("uvicorn app:app", Some(9000))
                .expect("valid")
                .port,
            9000
        );
    }

    #[test]
    fn bad_commands_and_ports_are_explained() {
        assert!(WebApp::new("  ", None).unwrap_err().contains("empty"));
        assert!(
            WebApp::new("gunicorn 'app", None)
                .unwrap_err()
                .contains("unclosed quote")
        );
        for port in [0, 65536, -1] {
            assert!(
                WebApp::new("gunicorn app:app", Some(port))
                    .unwrap_err()
                    .contains("1-65535")
            );
        }
    }
}
