//! The one backoff of the crate: the client's retries of requests and the
//! eval harness's retries of tasks wait the same way.

use std::time::Duration;

/// Exponential backoff with "equal jitter": the wait before retry `n` (from
/// 0) is between half and all of `initial * 2^n`, capped at `max`, so that
/// clients or cases that failed together do not retry together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub(crate) initial: Duration,
    pub(crate) max: Duration,
}

impl Backoff {
    /// The wait before retry `retry`, counted from 0.
    pub(crate) fn delay(&self, retry: u32) -> Duration {
        let exponential = self
            .initial
            .saturating_mul(2u32.saturating_pow(retry.min(30)))
            .min(self.max);
        let half = exponential / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_grows_with_jitter_and_stays_capped() {
        let backoff = Backoff {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(8),
        };
        for retry in 0..40 {
            let exponential = Duration::from_millis(250)
                .saturating_mul(2u32.saturating_pow(retry.min(30)))
                .min(Duration::from_secs(8));
            let wait = backoff.delay(retry);
            assert!(
                wait >= exponential / 2 && wait <= exponential,
                "{retry}: {wait:?}"
            );
        }
    }
}
