//! Log capture: everything an environment's processes write to stdout and stderr, line by
//! line, as CloudWatch receives it, plus the platform's START, END and REPORT lines.

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::invocation::Report;

/// Where an environment's log lines go.
pub trait LogSink: Send + Sync {
    /// One complete line, ending in `\n`.
    fn write_line(&self, line: &[u8]);

    /// Several complete lines, each ending in `\n`, as one write where the sink can: a
    /// function's lines reach the log together (what it printed during an invocation, END
    /// and REPORT), and a write per line costs a system call and a wake-up of the reader
    /// each. By default, line by line.
    fn write_lines(&self, lines: &[u8]) {
        for line in lines.split_inclusive(|&b| b == b'\n') {
            self.write_line(line);
        }
    }
}

/// Writes log lines to this process's stderr.
#[derive(Debug, Default, Clone, Copy)]
pub struct StderrLogs;

impl LogSink for StderrLogs {
    fn write_line(&self, line: &[u8]) {
        // A closed stderr loses logs, never the invocation.
        let _ = std::io::stderr().lock().write_all(line);
    }

    fn write_lines(&self, lines: &[u8]) {
        let _ = std::io::stderr().lock().write_all(lines);
    }
}

/// Drops log lines (they are still captured per invocation).
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardLogs;

impl LogSink for DiscardLogs {
    fn write_line(&self, _line: &[u8]) {}
}

/// Sends each line to the function's sink and, during an invocation, to its capture.
#[derive(Clone)]
pub(crate) struct LogStream {
    sink: Arc<dyn LogSink>,
    capture: Arc<Mutex<Option<Vec<u8>>>>,
}

impl LogStream {
    pub(crate) fn new(sink: Arc<dyn LogSink>) -> LogStream {
        LogStream {
            sink,
            capture: Arc::new(Mutex::new(None)),
        }
    }

    /// Complete lines, each ending in `\n`.
    pub(crate) fn emit(&self, lines: &[u8]) {
        self.sink.write_lines(lines);
        if let Ok(mut capture) = self.capture.lock()
            && let Some(buffer) = capture.as_mut()
        {
            buffer.extend_from_slice(lines);
        }
    }

    /// A platform line, e.g. START, or several separated by `\n`.
    pub(crate) fn platform(&self, text: &str) {
        let mut line = Vec::with_capacity(text.len() + 1);
        line.extend_from_slice(text.as_bytes());
        line.push(b'\n');
        self.emit(&line);
    }

    pub(crate) fn start_capture(&self) {
        if let Ok(mut capture) = self.capture.lock() {
            *capture = Some(Vec::new());
        }
    }

    pub(crate) fn take_capture(&self) -> Vec<u8> {
        self.capture
            .lock()
            .ok()
            .and_then(|mut capture| capture.take())
            .unwrap_or_default()
    }
}

/// The pipe every process of one environment writes to, and the task reading it.
pub(crate) struct LogPipe {
    writer: OwnedFd,
    reader: Arc<PipeReader>,
    task: tokio::task::JoinHandle<()>,
}

/// How often the background task looks at the pipe while output flows, and at most how long
/// it leaves it unread when it is quiet.
const POLL_BUSY: Duration = Duration::from_millis(5);
const POLL_QUIET: Duration = Duration::from_millis(100);
/// The pipe's buffer, so a chatty function does not block between two reads.
const PIPE_BYTES: libc::c_int = 1024 * 1024;

/// The read end, non-blocking and deliberately not registered for readiness: a wake-up per
/// line written costs the writing function tens of microseconds on a small VM (a
/// cross-CPU wake-up each time), so the pipe is drained on a timer and, on the invoke path,
/// by [`LogPipe::sync`] before the platform's own lines.
struct PipeReader {
    file: std::fs::File,
    lines: Mutex<LineBuffer>,
    stream: LogStream,
}

/// What one drain found.
#[derive(PartialEq, Eq)]
enum Drained {
    Output,
    Nothing,
    Closed,
}

impl PipeReader {
    /// Reads everything available now.
    fn drain(&self) -> Drained {
        use std::io::Read;
        let Ok(mut lines) = self.lines.lock() else {
            return Drained::Closed;
        };
        let mut chunk = [0u8; 16 * 1024];
        let mut found = Drained::Nothing;
        loop {
            match (&self.file).read(&mut chunk) {
                Ok(0) => {
                    lines.flush(&self.stream);
                    return Drained::Closed;
                }
                Ok(n) => {
                    lines.feed(&chunk[..n], &self.stream);
                    found = Drained::Output;
                }
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => return found,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Drained::Closed,
            }
        }
    }
}

impl LogPipe {
    pub(crate) fn open(stream: LogStream) -> std::io::Result<LogPipe> {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two descriptors into the array we own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just created and are owned by nothing else.
        let (read, writer) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: fcntl on a descriptor we own; a failure leaves the pipe as it was.
        unsafe {
            // Best effort: the default 64 KB still works, with more blocking when chatty.
            libc::fcntl(read.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_BYTES);
            let flags = libc::fcntl(read.as_raw_fd(), libc::F_GETFL);
            if flags < 0
                || libc::fcntl(read.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
        }
        let reader = Arc::new(PipeReader {
            file: std::fs::File::from(read),
            lines: Mutex::new(LineBuffer::default()),
            stream,
        });
        let task = tokio::spawn(read_lines(reader.clone()));
        Ok(LogPipe {
            writer,
            reader,
            task,
        })
    }

    /// A descriptor for a child's stdout or stderr.
    pub(crate) fn writer(&self) -> std::io::Result<std::process::Stdio> {
        Ok(std::process::Stdio::from(self.writer.try_clone()?))
    }

    /// Another descriptor of the write end, to hand to a process another one starts.
    pub(crate) fn writer_fd(&self) -> std::io::Result<OwnedFd> {
        self.writer.try_clone()
    }

    /// Emits everything written to the pipe so far: what the runtime printed before it
    /// posted its response precedes the END line.
    pub(crate) fn sync(&self) {
        self.reader.drain();
        if let Ok(mut lines) = self.reader.lines.lock() {
            lines.flush(&self.reader.stream);
        }
    }
}

impl Drop for LogPipe {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Drains the pipe every few milliseconds while output flows, backing off to
/// [`POLL_QUIET`] when it is quiet.
async fn read_lines(reader: Arc<PipeReader>) {
    let mut pause = POLL_BUSY;
    loop {
        tokio::time::sleep(pause).await;
        pause = match reader.drain() {
            Drained::Closed => return,
            Drained::Output => POLL_BUSY,
            Drained::Nothing => (pause * 2).min(POLL_QUIET),
        };
    }
}

/// Splits a byte stream into lines.
#[derive(Default)]
struct LineBuffer {
    partial: Vec<u8>,
}

impl LineBuffer {
    /// Emits the complete lines `bytes` ends (with the partial line before them) at once,
    /// and keeps what follows the last newline.
    fn feed(&mut self, bytes: &[u8], stream: &LogStream) {
        let Some(last) = bytes.iter().rposition(|&b| b == b'\n') else {
            self.partial.extend_from_slice(bytes);
            return;
        };
        if self.partial.is_empty() {
            stream.emit(&bytes[..=last]);
        } else {
            self.partial.extend_from_slice(&bytes[..=last]);
            stream.emit(&self.partial);
            self.partial.clear();
        }
        self.partial.extend_from_slice(&bytes[last + 1..]);
    }

    /// Emits an unterminated last line, terminated.
    fn flush(&mut self, stream: &LogStream) {
        if !self.partial.is_empty() {
            self.partial.push(b'\n');
            stream.emit(&self.partial);
            self.partial.clear();
        }
    }
}

/// `2.25 ms` style figures, as Lambda prints them.
fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The START line.
pub(crate) fn start_line(request_id: &str, version: &str) -> String {
    format!("START RequestId: {request_id} Version: {version}")
}

/// The END line.
pub(crate) fn end_line(request_id: &str) -> String {
    format!("END RequestId: {request_id}")
}

/// The REPORT line, fields in the order the service prints them (Init Duration last).
pub(crate) fn report_line(request_id: &str, report: &Report) -> String {
    let mut line = format!(
        "REPORT RequestId: {request_id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
        millis(report.duration),
        report.billed_ms,
        report.memory_size_mb,
        report.max_memory_used_mb
    );
    if let Some(init) = report.init_duration {
        line.push_str(&format!("Init Duration: {:.2} ms\t", millis(init)));
    }
    if let Some(status) = &report.status {
        line.push_str(&format!("Status: {status}\t"));
        if let Some(error_type) = &report.error_type {
            line.push_str(&format!("Error Type: {error_type}\t"));
        }
    }
    line
}

/// The INIT_REPORT line Lambda prints when an init phase fails.
pub(crate) fn init_report_line(
    duration: Duration,
    phase: &str,
    status: &str,
    error_type: Option<&str>,
) -> String {
    let mut line = format!(
        "INIT_REPORT Init Duration: {:.2} ms\tPhase: {phase}\tStatus: {status}",
        millis(duration)
    );
    if let Some(error_type) = error_type {
        line.push_str(&format!("\tError Type: {error_type}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_line_matches_lambda() {
        let report = Report {
            duration: Duration::from_micros(3_470),
            billed_ms: 4,
            memory_size_mb: 128,
            max_memory_used_mb: 74,
            init_duration: Some(Duration::from_micros(120_310)),
            status: None,
            error_type: None,
        };
        assert_eq!(
            report_line("id-1", &report),
            "REPORT RequestId: id-1\tDuration: 3.47 ms\tBilled Duration: 4 ms\tMemory Size: 128 MB\tMax Memory Used: 74 MB\tInit Duration: 120.31 ms\t"
        );
    }

    /// Records each write a sink receives.
    #[derive(Default)]
    struct Writes(Mutex<Vec<Vec<u8>>>);

    impl LogSink for Writes {
        fn write_line(&self, line: &[u8]) {
            self.0.lock().unwrap().push(line.to_vec());
        }

        fn write_lines(&self, lines: &[u8]) {
            self.0.lock().unwrap().push(lines.to_vec());
        }
    }

    #[test]
    fn complete_lines_go_out_together() {
        let writes = Arc::new(Writes::default());
        let stream = LogStream::new(writes.clone());
        let mut lines = LineBuffer::default();
        lines.feed(b"a\nb\nc", &stream);
        lines.feed(b"d\ne\nf\n", &stream);
        lines.feed(b"g", &stream);
        lines.flush(&stream);
        stream.platform("END\nREPORT");
        let writes = writes.0.lock().unwrap();
        let expected: [&[u8]; 4] = [b"a\nb\n", b"cd\ne\nf\n", b"g\n", b"END\nREPORT\n"];
        assert_eq!(*writes, expected.map(<[u8]>::to_vec));
    }

    #[test]
    fn a_sink_without_batches_gets_the_lines_one_by_one() {
        struct OneByOne(Mutex<Vec<Vec<u8>>>);
        impl LogSink for OneByOne {
            fn write_line(&self, line: &[u8]) {
                self.0.lock().unwrap().push(line.to_vec());
            }
        }
        let sink = OneByOne(Mutex::new(Vec::new()));
        sink.write_lines(b"a\nbc\n");
        let expected: [&[u8]; 2] = [b"a\n", b"bc\n"];
        assert_eq!(*sink.0.lock().unwrap(), expected.map(<[u8]>::to_vec));
    }

    #[test]
    fn lines_are_split_and_flushed() {
        let stream = LogStream::new(Arc::new(DiscardLogs));
        stream.start_capture();
        let mut lines = LineBuffer::default();
        lines.feed(b"a\nb", &stream);
        lines.feed(b"c\nd", &stream);
        lines.flush(&stream);
        assert_eq!(stream.take_capture(), b"a\nbc\nd\n");
    }
}
