//! Function logs: each line to the server's output, prefixed by the function's name, and
//! appended to the function's own file under the state directory.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use lambdaship_runtime::LogSink;

/// The log sink of one function.
pub struct FunctionLogs {
    prefix: Vec<u8>,
    echo: bool,
    file: Mutex<Option<File>>,
}

impl FunctionLogs {
    /// Logs of `function`, appended to `<dir>/<function>.log` and, when `echo`, printed to
    /// standard output.
    pub fn new(dir: &Path, function: &str, echo: bool) -> FunctionLogs {
        let file = std::fs::create_dir_all(dir).ok().and_then(|_| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log_file(dir, function))
                .ok()
        });
        FunctionLogs {
            prefix: format!("[{function}] ").into_bytes(),
            echo,
            file: Mutex::new(file),
        }
    }
}

/// Where the logs of `function` are kept.
pub fn log_file(dir: &Path, function: &str) -> PathBuf {
    dir.join(format!("{function}.log"))
}

impl LogSink for FunctionLogs {
    fn write_line(&self, line: &[u8]) {
        self.write_lines(line);
    }

    fn write_lines(&self, lines: &[u8]) {
        // Losing a log line must never fail an invocation: write errors are dropped.
        if self.echo {
            let mut prefixed = Vec::with_capacity(lines.len() + 8 * self.prefix.len());
            for line in lines.split_inclusive(|&b| b == b'\n') {
                prefixed.extend_from_slice(&self.prefix);
                prefixed.extend_from_slice(line);
            }
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(&prefixed);
            let _ = out.flush();
        }
        if let Ok(mut file) = self.file.lock()
            && let Some(file) = file.as_mut()
        {
            let _ = file.write_all(lines);
        }
    }
}
