//! When and how long to wait before trying a request again.

use std::time::Duration;

/// How requests are retried.
///
/// Idempotent requests (GET, PUT, PATCH, DELETE) are retried on 429, 502,
/// 503 and 504 answers, connection failures and timeouts, with exponential
/// backoff and jitter, honouring a `Retry-After` header.
///
/// Every POST carries a fresh `Idempotency-Key`, the same on its retries,
/// which `datasets-server` uses to apply it once however often it arrives;
/// so against any server but Logfire's hosted API, POSTs are retried like
/// the rest. Against Logfire, which does not document the header, a POST
/// is retried only when the connection could not be made (nothing was
/// sent), unless [`retry_posts`](Self::retry_posts) says otherwise.
///
/// ```
/// use std::time::Duration;
/// use datasets_core::RetryPolicy;
///
/// let patient = RetryPolicy::default()
///     .max_retries(5)
///     .initial_backoff(Duration::from_millis(500));
/// let never = RetryPolicy::none();
/// # let _ = (patient, never);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub(crate) max_retries: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) max_retry_after: Duration,
    pub(crate) retry_posts: Option<bool>,
}

impl Default for RetryPolicy {
    /// 3 retries, backoff from 250 ms doubling up to 8 s, `Retry-After`
    /// honoured up to 60 s.
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            retry_posts: None,
        }
    }
}

impl RetryPolicy {
    /// No retries: every request is attempted once.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Retries after the first attempt.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The wait before the first retry; each later wait doubles it.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The longest computed wait between attempts.
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The longest `Retry-After` honoured; an answer asking for a longer
    /// wait is returned as an error instead of retried.
    pub fn max_retry_after(mut self, wait: Duration) -> Self {
        self.max_retry_after = wait;
        self
    }

    /// Whether a POST that failed after it was sent is retried, with the
    /// same `Idempotency-Key`. By default, yes unless the server is
    /// Logfire's hosted API; set it to `true` only for servers that honour
    /// the key, since elsewhere a retried POST may be applied twice.
    pub fn retry_posts(mut self, retry: bool) -> Self {
        self.retry_posts = Some(retry);
        self
    }

    /// The wait before retry number `retry` (from 0): exponential, with
    /// "equal jitter" (between half and all of the exponential value), so
    /// clients that failed together do not retry together.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        crate::backoff::Backoff {
            initial: self.initial_backoff,
            max: self.max_backoff,
        }
        .delay(retry)
    }
}

/// Parses a `Retry-After` value: delay seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = date - time::OffsetDateTime::now_utc();
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_stays_capped() {
        let policy = RetryPolicy::default();
        for retry in 0..10 {
            let exponential =
                (Duration::from_millis(250) * 2u32.pow(retry)).min(Duration::from_secs(8));
            let wait = policy.backoff(retry);
            assert!(
                wait >= exponential / 2 && wait <= exponential,
                "{retry}: {wait:?}"
            );
        }
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
