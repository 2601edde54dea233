//! Failed API keys and sign-ins, counted per client address: past the
//! limit in a window, every further key from that address (right or wrong)
//! is answered 429 with `Retry-After` until the window ends, without being
//! looked up, so that guessing keys costs a window per few attempts.
//!
//! The address is the connection's peer, or, behind a proxy the server is
//! told to trust (`--trust-forwarded-for`), the first address of
//! `X-Forwarded-For`. IPv6 addresses count by their /64 prefix, the block a
//! single host is usually given. The table is bounded: when full, ended
//! windows are dropped, and if that is not enough, all of them (the limit
//! then forgets, rather than the server growing).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};

use crate::error::ApiError;

/// Addresses tracked at once.
const MAX_ADDRESSES: usize = 100_000;

/// Failures counted per address.
#[derive(Debug)]
pub(crate) struct Throttle {
    limit: u32,
    window: Duration,
    trust_forwarded_for: bool,
    failures: Mutex<HashMap<IpAddr, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

impl Throttle {
    /// A throttle allowing `limit` failures per address in each `window`.
    pub(crate) fn new(limit: u32, window: Duration, trust_forwarded_for: bool) -> Self {
        Self {
            limit,
            window,
            trust_forwarded_for,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The address a request is counted against.
    pub(crate) fn address(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<IpAddr> {
        let forwarded = self
            .trust_forwarded_for
            .then(|| headers.get("x-forwarded-for"))
            .flatten()
            .and_then(|value| value.to_str().ok())
            .and_then(|list| list.split(',').next())
            .and_then(|first| first.trim().parse::<IpAddr>().ok());
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        forwarded.or(peer).map(counted)
    }

    /// A 429 when `address` is past its limit.
    pub(crate) fn check(&self, address: Option<IpAddr>) -> Result<(), ApiError> {
        let Some(address) = address else {
            return Ok(());
        };
        let failures = self.lock();
        let Some(window) = failures.get(&address) else {
            return Ok(());
        };
        let elapsed = window.started.elapsed();
        if window.failures < self.limit || elapsed >= self.window {
            return Ok(());
        }
        let left = self.window - elapsed;
        Err(ApiError::TooManyFailures {
            retry_after: left.as_secs() + u64::from(left.subsec_nanos() > 0),
        })
    }

    /// Counts a failed key or sign-in from `address`.
    pub(crate) fn failed(&self, address: Option<IpAddr>) {
        let Some(address) = address else {
            return;
        };
        let mut failures = self.lock();
        if failures.len() >= MAX_ADDRESSES && !failures.contains_key(&address) {
            let window = self.window;
            failures.retain(|_, entry| entry.started.elapsed() < window);
            if failures.len() >= MAX_ADDRESSES {
                failures.clear();
            }
        }
        let now = Instant::now();
        let entry = failures.entry(address).or_insert(Window {
            started: now,
            failures: 0,
        });
        if entry.started.elapsed() >= self.window {
            *entry = Window {
                started: now,
                failures: 0,
            };
        }
        entry.failures = entry.failures.saturating_add(1);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Window>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The address as counted: IPv4 as it is (and IPv4-mapped IPv6 as IPv4),
/// IPv6 by its /64 prefix.
fn counted(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        Some(counted(text.parse().unwrap()))
    }

    #[test]
    fn an_address_past_its_limit_waits_for_the_window_and_others_do_not() {
        let throttle = Throttle::new(3, Duration::from_millis(300), false);
        for _ in 0..3 {
            assert!(throttle.check(ip("10.0.0.1")).is_ok());
            throttle.failed(ip("10.0.0.1"));
        }
        let Err(ApiError::TooManyFailures { retry_after }) = throttle.check(ip("10.0.0.1")) else {
            panic!("the fourth attempt is refused");
        };
        assert_eq!(retry_after, 1);
        assert!(throttle.check(ip("10.0.0.2")).is_ok());
        assert!(throttle.check(None).is_ok());
        std::thread::sleep(Duration::from_millis(350));
        assert!(throttle.check(ip("10.0.0.1")).is_ok());
        throttle.failed(ip("10.0.0.1"));
        assert!(throttle.check(ip("10.0.0.1")).is_ok(), "a new window");
    }

    #[test]
    fn ipv6_counts_by_its_64_prefix_and_mapped_ipv4_as_ipv4() {
        assert_eq!(ip("2001:db8:1:2:aaaa::1"), ip("2001:db8:1:2:ffff::9"));
        assert_ne!(ip("2001:db8:1:2::1"), ip("2001:db8:1:3::1"));
        assert_eq!(ip("::ffff:192.0.2.7"), ip("192.0.2.7"));
    }

    #[test]
    fn the_forwarded_address_counts_only_when_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 10.0.0.1".parse().unwrap());
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4000))));
        let trusting = Throttle::new(1, Duration::from_secs(1), true);
        let plain = Throttle::new(1, Duration::from_secs(1), false);
        assert_eq!(trusting.address(&headers, &extensions), ip("203.0.113.9"));
        assert_eq!(plain.address(&headers, &extensions), ip("127.0.0.1"));
    }
}
