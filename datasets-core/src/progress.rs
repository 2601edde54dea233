//! A progress bar on stderr, drawn only where someone can see it.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Redraws at most this often, so that a million fast cases don't spend
/// their time drawing.
const REDRAW: Duration = Duration::from_millis(80);
const WIDTH: usize = 30;

pub(crate) struct Progress {
    enabled: bool,
    total: usize,
    done: AtomicUsize,
    label: String,
    started: Instant,
    /// When the bar was last drawn, and with how many steps done.
    last_drawn: Mutex<Option<(Instant, usize)>>,
}

impl Progress {
    /// A bar for `total` steps, drawn only when stderr is a terminal: a
    /// bar in a log file or a test's output is noise. `show: Some(false)`
    /// turns it off; `Some(true)` or `None` draws it on a terminal.
    pub(crate) fn new(show: Option<bool>, total: usize, label: String) -> Self {
        let progress = Self {
            enabled: show != Some(false) && std::io::stderr().is_terminal(),
            total,
            done: AtomicUsize::new(0),
            label,
            started: Instant::now(),
            last_drawn: Mutex::new(None),
        };
        progress.draw(0, true);
        progress
    }

    /// Steps done so far.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn done(&self) -> usize {
        self.done.load(Ordering::Relaxed)
    }

    pub(crate) fn advance(&self) {
        self.advance_by(1);
    }

    pub(crate) fn advance_by(&self, steps: usize) {
        let done = self.done.fetch_add(steps, Ordering::Relaxed) + steps;
        self.draw(done, done == self.total);
    }

    /// Draws the final state, unless it is already on screen, and ends the line.
    pub(crate) fn finish(&self) {
        if self.enabled {
            self.draw(self.done.load(Ordering::Relaxed), true);
            eprintln!();
        }
    }

    fn draw(&self, done: usize, force: bool) {
        if !self.enabled {
            return;
        }
        let mut last = self.last_drawn.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match *last {
            // The same count again (the final state, drawn once) adds nothing.
            Some((_, drawn)) if drawn == done && force => return,
            Some((at, _)) if !force && now - at < REDRAW => return,
            _ => {}
        }
        *last = Some((now, done));
        let line = self.line(done, self.started.elapsed());
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(line.as_bytes());
        let _ = stderr.flush();
    }

    /// The bar's text after `done` steps, `elapsed` in.
    fn line(&self, done: usize, elapsed: Duration) -> String {
        let filled = (done * WIDTH)
            .checked_div(self.total)
            .unwrap_or(WIDTH)
            .min(WIDTH);
        let bar = format!("{}{}", "━".repeat(filled), "╌".repeat(WIDTH - filled));
        let elapsed = elapsed.as_secs();
        format!(
            "\r{} {bar} {done}/{} {}:{:02}",
            self.label,
            self.total,
            elapsed / 60,
            elapsed % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_is_never_drawn_where_no_terminal_sees_it() {
        // Tests run with stderr captured: not a terminal, so even an
        // explicit `progress(true)` draws nothing, while steps still count.
        let progress = Progress::new(Some(true), 3, "Uploading cases".into());
        assert!(!progress.enabled);
        progress.advance_by(2);
        assert_eq!(progress.done(), 2);
    }

    #[test]
    fn the_bar_fills_in_proportion_and_never_overflows() {
        let progress = Progress::new(Some(false), 200, "Uploading cases".into());
        let line = progress.line(50, Duration::from_secs(75));
        assert_eq!(
            line,
            format!(
                "\rUploading cases {}{} 50/200 1:15",
                "━".repeat(7),
                "╌".repeat(23)
            )
        );
        assert!(
            progress
                .line(200, Duration::ZERO)
                .contains(&"━".repeat(WIDTH))
        );
        // More steps than announced (a retried chunk) still draws a full bar.
        assert!(progress.line(250, Duration::ZERO).contains("250/200"));
        // Nothing to do is done.
        let empty = Progress::new(Some(false), 0, "Nothing".into());
        assert!(empty.line(0, Duration::ZERO).contains(&"━".repeat(WIDTH)));
    }
}
