//! The `REPLAY` ledger: where replay resumes (`SEQ OFFSET`). Each update replaces the
//! file whole (written beside it, then renamed over it), so a crash leaves the old
//! cursor or the new one. The spool makes it durable (`fsync`) on its sync interval,
//! not at every acknowledgement: a power loss can move the cursor back by up to that
//! interval, which replays acknowledged batches again (duplicates, never a loss).

use super::sync_dir;
use std::io::{self, Write};
use std::path::Path;

/// The ledger's file name.
pub(super) const LEDGER: &str = "REPLAY";
/// Where the next ledger is written before it replaces the current one.
const LEDGER_TMP: &str = "REPLAY.tmp";

/// The cursor in `dir`'s ledger: segment sequence and offset; `(0, 0)` (replay
/// everything) when it is missing or unreadable.
pub(super) fn read(dir: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(dir.join(LEDGER)).unwrap_or_default();
    let mut parts = text.split_whitespace().map(str::parse::<u64>);
    match (parts.next(), parts.next()) {
        (Some(Ok(seq)), Some(Ok(offset))) => (seq, offset),
        _ => (0, 0),
    }
}

/// Replaces `dir`'s ledger: the new one is written beside it and renamed over it. With
/// `durable`, the new file is `fsync`ed before the rename and the rename after it, so
/// that after a power loss the ledger is the old one or the new one, whole.
pub(super) fn write(dir: &Path, (seq, offset): (u64, u64), durable: bool) -> io::Result<()> {
    let tmp = dir.join(LEDGER_TMP);
    let mut file = super::private::file_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    file.write_all(format!("{seq} {offset}\n").as_bytes())?;
    if durable {
        file.sync_all()?;
    }
    drop(file);
    std::fs::rename(&tmp, dir.join(LEDGER))?;
    if durable {
        sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_written_is_the_cursor_read_and_garbage_replays_everything() {
        let dir = std::env::temp_dir().join(format!("spool-ledger-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(read(&dir), (0, 0), "no ledger yet");
        write(&dir, (7, 4096), false).unwrap();
        write(&dir, (8, 33), true).unwrap();
        assert_eq!(read(&dir), (8, 33));
        assert!(!dir.join(LEDGER_TMP).exists());
        std::fs::write(dir.join(LEDGER), "8 x\n").unwrap();
        assert_eq!(read(&dir), (0, 0));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
