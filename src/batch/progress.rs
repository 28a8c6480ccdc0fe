//! What a run shows while it works: a progress bar on a terminal, one log line per page
//! otherwise.

use crate::model::{PageResult, PageStatus};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The run's progress display.
pub(super) struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    count: Mutex<u64>,
    started: Instant,
}

impl Progress {
    /// A display for `total` pages: a bar when `want_bar` and standard error is a terminal.
    pub fn new(total: u64, want_bar: bool) -> Progress {
        let bar = (want_bar && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} pages  {per_sec}  ETA {eta}  {msg}",
                )
                .expect("valid template"),
            );
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Progress {
            bar,
            total,
            count: Mutex::new(0),
            started: Instant::now(),
        }
    }

    fn tick(&self, n: u64, line: String) {
        let mut c = self.count.lock().expect("lock");
        *c += n;
        match &self.bar {
            Some(b) => {
                b.inc(n);
                b.set_message(line);
            }
            None => {
                let secs = self.started.elapsed().as_secs_f64().max(1e-3);
                eprintln!(
                    "[{}/{}] {line} ({:.1} pages/min)",
                    *c,
                    self.total,
                    *c as f64 / secs * 60.0
                );
            }
        }
    }

    /// A page is done.
    pub fn done(&self, r: &PageResult) {
        let what = match r.status {
            PageStatus::Ok => format!("ok, {} records", r.records.len()),
            s => format!("{}: {}", s.as_str(), r.reasons.join("; ")),
        };
        self.tick(1, format!("{}/{}: {what}", r.book, r.name));
    }

    /// `n` pages kept from an earlier run.
    pub fn skip(&self, n: u64, what: &str) {
        self.tick(n, format!("{what}: done earlier, kept"));
    }

    /// Clears the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
