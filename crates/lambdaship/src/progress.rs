//! Build progress on a terminal: a spinner with the current step on stderr, and nothing
//! but warnings when stderr is not a terminal (piped, CI) or JSON output is asked for.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use lambdaship_build::Progress;

/// Progress rendered for a person, or kept quiet.
pub struct TerminalProgress {
    spinner: Option<ProgressBar>,
}

impl TerminalProgress {
    /// A spinner when `interactive` and stderr is a terminal.
    pub fn new(interactive: bool) -> Self {
        let spinner = (interactive && std::io::stderr().is_terminal()).then(|| {
            let spinner = ProgressBar::new_spinner();
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            spinner.enable_steady_tick(Duration::from_millis(100));
            spinner
        });
        TerminalProgress { spinner }
    }

    /// Clears the spinner.
    pub fn finish(&self) {
        if let Some(spinner) = &self.spinner {
            spinner.finish_and_clear();
        }
    }
}

impl Progress for TerminalProgress {
    fn step(&self, message: &str) {
        if let Some(spinner) = &self.spinner {
            spinner.set_message(message.to_string());
        }
    }

    fn warn(&self, message: &str) {
        match &self.spinner {
            Some(spinner) => spinner.suspend(|| eprintln!("warning: {message}")),
            None => eprintln!("warning: {message}"),
        }
    }
}
