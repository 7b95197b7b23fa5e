//! Output files written atomically: whole, or not at all (also on cancel).

use crate::ctx::Ctx;
use crate::error::{PmError, Result};
use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Writes a file atomically: `write` fills a temporary file in the same folder, which is synced
/// and renamed to `path` unless the request was cancelled meanwhile (then nothing is left).
pub fn write_atomic_with(
    path: &str,
    ctx: &Ctx,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<()> {
    let p = Path::new(path);
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = p
        .file_name()
        .ok_or_else(|| PmError::io(path, "not a file path"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{:?}",
        name.to_string_lossy(),
        std::process::id(),
        std::thread::current().id()
    ));
    let res = (|| {
        let mut f = File::create(&tmp)?;
        write(&mut f)?;
        f.sync_all()
    })();
    let res = match res {
        Ok(()) if (ctx.cancelled)() => Err(PmError::cancelled()),
        Ok(()) => std::fs::rename(&tmp, p).map_err(|e| PmError::io(path, e)),
        Err(e) => Err(PmError::io(path, e)),
    };
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &str, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, &Ctx::none(), |f| f.write_all(bytes))
}
