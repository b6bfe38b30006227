//! Archiving: segments that leave the spool (expired or over budget) moved to the
//! archive directory, as they are or gzipped to `<segment>.gz`.

use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Moves the segment at `path` into `archive` (created if needed), gzipped when
/// `compress`. The segment is deleted only once its archived copy is complete: a
/// failed compression leaves no partial `.gz` behind.
pub(super) fn archive(path: &Path, archive: &Path, compress: bool) -> io::Result<()> {
    super::private::create_dir(archive)?;
    let Some(name) = path.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a segment file", path.display()),
        ));
    };
    if compress {
        let mut gz = name.to_owned();
        gz.push(".gz");
        let target = archive.join(&gz);
        gz.push(".tmp");
        let tmp = archive.join(gz);
        if let Err(e) = gzip(path, &tmp).and_then(|()| std::fs::rename(&tmp, &target)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        return std::fs::remove_file(path);
    }
    let target = archive.join(name);
    if std::fs::rename(path, &target).is_err() {
        // Another file system: copy, then delete.
        std::fs::copy(path, &target)?;
        std::fs::remove_file(path)?;
    }
    Ok(())
}

/// Writes `from`, gzipped, to `to`.
fn gzip(from: &Path, to: &Path) -> io::Result<()> {
    let mut input = File::open(from)?;
    let output = BufWriter::new(
        super::private::file_options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(to)?,
    );
    // Fast: this runs on the observer's worker thread, between exports.
    let mut encoder = GzEncoder::new(output, Compression::fast());
    io::copy(&mut input, &mut encoder)?;
    encoder.finish()?.flush()
}
