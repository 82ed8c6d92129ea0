//! A `lambdaship server` child process for the tests: started on a free port, its output
//! collected as it comes, stopped (or killed) when dropped.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{lambdaship, run, wait_bounded};

/// A running server.
pub struct LocalServer {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Its state directory.
    pub state: PathBuf,
    output: Arc<Mutex<String>>,
}

impl LocalServer {
    /// Starts `lambdaship server --port 0 --state STATE ARGS...` and waits for its address.
    pub fn start(state: &Path, args: &[&str]) -> LocalServer {
        let mut command = lambdaship();
        command
            .arg("server")
            .args(["--port", "0", "--state"])
            .arg(state)
            .args(args);
        let mut server = LocalServer::spawn(command, "listening on ");
        server.state = state.to_path_buf();
        server
    }

    /// Starts `command` and waits for the first line containing `marker` and a URL; the
    /// URL is the endpoint.
    pub fn spawn(mut command: Command, marker: &str) -> LocalServer {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let collected = output.clone();
        let marker = marker.to_string();
        // Drained continuously: a full pipe would block the server's log writes.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.contains(&marker)
                    && let Some(start) = line.find("http://")
                {
                    let url = line[start..].split(' ').next().unwrap_or("");
                    let _ = address_tx.send(url.to_string());
                }
                let mut all = collected.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        let endpoint = match address_rx.recv_timeout(Duration::from_secs(300)) {
            Ok(endpoint) => endpoint,
            Err(_) => {
                let _ = child.kill();
                let output = child.wait_with_output().unwrap();
                panic!("the server did not start: {output:?}");
            }
        };
        LocalServer {
            child: Some(child),
            endpoint,
            state: PathBuf::new(),
            output,
        }
    }

    /// Everything the server printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits until the output contains `needle`, at most `limit`.
    pub fn wait_for_output(&self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let output = self.output();
            if output.contains(needle) {
                return output;
            }
            assert!(
                Instant::now() < deadline,
                "server output never showed `{needle}` within {limit:?}:\n{output}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server with SIGTERM, as Ctrl-C would, and waits for it.
    pub fn stop(&mut self) -> Output {
        let child = self.child.take().unwrap();
        // SAFETY: signalling our own child by its pid.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        wait_bounded(child, Duration::from_secs(30), "lambdaship server shutdown")
    }

    /// Kills the server with SIGKILL: a crash at whatever moment it is in.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if self.child.is_some() {
            let _ = self.stop();
        }
    }
}

/// The aws CLI, version 2 (Debian's package, installed by scripts/setup): the seeds'
/// commands use its `--cli-binary-format`.
pub fn aws_cli() -> Command {
    let program = if Path::new("/usr/bin/aws").exists() {
        "/usr/bin/aws"
    } else {
        "aws"
    };
    let mut command = Command::new(program);
    for (key, value) in dummy_credentials() {
        command.env(key, value);
    }
    command
}

/// A command's stdout and stderr, for failure messages.
pub fn text(output: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The JSON a successful command printed.
pub fn json_of(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", text(output));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(output)))
}

/// Dummy credentials and a region, and no user configuration.
pub fn dummy_credentials() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_PAGER", ""),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        ),
    ]
}

/// Runs `aws lambda ARGS... --endpoint-url ENDPOINT` in `dir`.
pub fn aws_lambda(server: &LocalServer, dir: &Path, args: &[&str]) -> Output {
    let mut command = aws_cli();
    command
        .current_dir(dir)
        .arg("lambda")
        .args(args)
        .args(["--endpoint-url", &server.endpoint]);
    run(command, Duration::from_secs(120), "aws lambda")
}

/// Runs `aws iam ARGS... --endpoint-url ENDPOINT`: IAM's calls go to the server too.
pub fn aws_iam(server: &LocalServer, args: &[&str]) -> Output {
    let mut command = aws_cli();
    command
        .arg("iam")
        .args(args)
        .args(["--endpoint-url", &server.endpoint]);
    run(command, Duration::from_secs(120), "aws iam")
}

/// The tools' Python (with boto3), running the program `code` with `args`.
pub fn tools_python_code(code: &str, args: &[&str]) -> Command {
    tools_python(Path::new("-c"), &[&[code], args].concat())
}

/// The tools' Python (with boto3), running `script` with `args`.
pub fn tools_python(script: &Path, args: &[&str]) -> Command {
    let python = super::repo_root().join(".tools/venv/bin/python");
    let mut command = Command::new(python);
    command.arg(script).args(args);
    for (key, value) in dummy_credentials() {
        command.env(key, value);
    }
    command
}
