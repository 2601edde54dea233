//! The progress of an import on stderr: a bar redrawn in place on a
//! terminal (rows, bytes, rate, ETA), plain lines every few seconds
//! otherwise, nothing with `--quiet`.

use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::read::Counter;

pub(crate) struct Progress {
    mode: Mode,
    start: Instant,
    last: Option<Instant>,
    /// The file's size, when known.
    total: Option<u64>,
    read: Counter,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Quiet,
    Bar,
    Lines,
}

impl Progress {
    pub(crate) fn new(quiet: bool, total: Option<u64>, read: Counter) -> Self {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar
        } else {
            Mode::Lines
        };
        let start = Instant::now();
        Self {
            mode,
            start,
            // Plain lines only once an import takes a while.
            last: (mode == Mode::Lines).then_some(start),
            total,
            read,
        }
    }

    /// How long the import has taken.
    pub(crate) fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Shows `landed` rows written so far.
    pub(crate) fn update(&mut self, landed: u64) {
        let every = match self.mode {
            Mode::Quiet => return,
            Mode::Bar => Duration::from_millis(100),
            Mode::Lines => Duration::from_secs(5),
        };
        let now = Instant::now();
        if self.last.is_some_and(|last| now - last < every) {
            return;
        }
        self.last = Some(now);
        let text = self.text(landed);
        let mut err = std::io::stderr().lock();
        let _ = if self.mode == Mode::Bar {
            write!(err, "\r\x1b[2K{text}")
        } else {
            writeln!(err, "{text}")
        };
        let _ = err.flush();
    }

    fn text(&self, landed: u64) -> String {
        let seconds = self.start.elapsed().as_secs_f64().max(1e-3);
        let read = self.read.load(Ordering::Relaxed);
        let mut text = format!(
            "imported {} rows, read {}",
            thousands(landed),
            megabytes(read)
        );
        if let Some(total) = self.total.filter(|t| *t > 0) {
            let fraction = (read as f64 / total as f64).min(1.0);
            if self.mode == Mode::Bar {
                let filled = (fraction * 20.0).round() as usize;
                text = format!("[{}{}] {text}", "#".repeat(filled), "-".repeat(20 - filled));
            }
            text.push_str(&format!(
                " of {} ({:.0}%)",
                megabytes(total),
                fraction * 100.0
            ));
            if fraction > 0.0 && fraction < 1.0 {
                let eta = seconds * (1.0 - fraction) / fraction;
                text.push_str(&format!(", ETA {}", duration(eta)));
            }
        }
        text.push_str(&format!(
            ", {} rows/s",
            thousands((landed as f64 / seconds) as u64)
        ));
        text
    }

    /// Clears the bar.
    pub(crate) fn finish(&mut self) {
        if self.mode == Mode::Bar && self.last.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn duration(seconds: f64) -> String {
    let seconds = seconds.round() as u64;
    if seconds >= 3600 {
        format!(
            "{}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        )
    } else {
        format!("{}:{:02}", seconds / 60, seconds % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(duration(75.0), "1:15");
        assert_eq!(duration(3_725.0), "1:02:05");
    }
}
