//! The one check that blocking code is not running inside an async
//! runtime, where blocking would stall it (or panic, for tokio's
//! `block_on`): the blocking client and `Evaluate::run_blocking` share it.

use crate::error::{Error, Result};

/// Refuses to block on a thread inside a tokio runtime, saying what to do
/// instead (`advice`).
pub(crate) fn refuse_inside_runtime(what: &str, advice: &str) -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::Blocking(format!(
            "{what} was called on a thread inside an async runtime (a runtime worker or a \
             spawn_blocking thread), where it could block the runtime; {advice}"
        )));
    }
    Ok(())
}
