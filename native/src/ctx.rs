//! The cancellation and progress hooks of a running request.

use crate::error::{PmError, Result};

/// Cancellation and progress hooks of a running request.
pub struct Ctx<'a> {
    pub cancelled: &'a (dyn Fn() -> bool + Sync),
    pub progress: &'a (dyn Fn(u64, u64) + Sync),
}

impl Ctx<'static> {
    /// A context that is never cancelled and reports nothing.
    pub fn none() -> Ctx<'static> {
        Ctx {
            cancelled: &|| false,
            progress: &|_, _| {},
        }
    }
}

impl Ctx<'_> {
    pub(crate) fn check(&self) -> Result<()> {
        if (self.cancelled)() {
            Err(PmError::cancelled())
        } else {
            Ok(())
        }
    }
}
