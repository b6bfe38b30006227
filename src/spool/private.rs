//! The spool is private: spans carry user data. On Unix its directory is created
//! `0700` and its files `0600`; an existing directory open to others is used as it is
//! and reported (the caller warns once).

use std::fs::OpenOptions;
use std::io;
use std::path::Path;

/// Mode bits of a directory that let others in: group or world access.
const OPEN_TO_OTHERS: u32 = 0o077;

/// Creates `dir` (and missing parents) private to the user; returns the mode of an
/// existing `dir` that is open to others, `None` when it is private.
pub(super) fn create_dir(dir: &Path) -> io::Result<Option<u32>> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700).create(dir)?;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        Ok((mode & OPEN_TO_OTHERS != 0).then_some(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = OPEN_TO_OTHERS;
        builder.create(dir).map(|()| None)
    }
}

/// Options that create a file readable and writable by the user only.
pub(super) fn file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}
