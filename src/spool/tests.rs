use super::*;
use std::sync::Arc;

fn config(name: &str) -> SpoolConfig {
    let dir = std::env::temp_dir().join(format!("spool-unit-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    SpoolConfig {
        dir,
        max_bytes: DEFAULT_MAX_BYTES,
        retention: DEFAULT_RETENTION,
        archive_dir: None,
        archive_compress: false,
        cleanup_interval: DEFAULT_CLEANUP_INTERVAL,
        sync_interval: DEFAULT_SYNC_INTERVAL,
    }
}

fn open(config: &SpoolConfig) -> Spool {
    Spool::open(config.clone(), Arc::new(SpoolCounters::default())).unwrap()
}

fn drain(spool: &mut Spool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(replay) = spool.next_replay() {
        spool.ack(&replay);
        out.push(replay.payload);
    }
    out
}

#[test]
fn replays_oldest_first_resumes_after_reopen_and_deletes_what_was_sent() {
    let config = config("resume");
    let now = SystemTime::now();
    let mut spool = open(&config);
    for i in 0..5u8 {
        let kind = if i == 2 { Kind::Priority } else { Kind::Normal };
        spool.append(&[i; 10], 1, kind, now).unwrap();
    }
    let first = spool.next_replay().unwrap();
    assert_eq!(first.payload, [0; 10]);
    spool.ack(&first);
    let unacked = spool.next_replay().unwrap();
    assert_eq!(unacked.payload, [1; 10]);
    drop(spool);
    let mut spool = open(&config);
    assert_eq!(spool.counters.pending_batches.load(Relaxed), 4);
    // Segments replay in sequence order; the unacknowledged batch comes again.
    let rest = drain(&mut spool);
    assert_eq!(
        rest,
        vec![vec![1; 10], vec![3; 10], vec![4; 10], vec![2; 10]]
    );
    assert!(!spool.has_replayable());
    assert_eq!(spool.segments.len(), 0);
    std::fs::remove_dir_all(&config.dir).unwrap();
}

#[test]
fn a_locked_spool_is_refused() {
    let config = config("locked");
    let _spool = open(&config);
    let err = Spool::open(config.clone(), Arc::default()).unwrap_err();
    assert_eq!(error_kind(&err), "locked");
    std::fs::remove_dir_all(&config.dir).unwrap();
}

#[test]
fn a_corrupt_record_is_skipped_and_counted_the_rest_replayed() {
    let config = config("corrupt");
    let now = SystemTime::now();
    let mut spool = open(&config);
    for i in 0..3u8 {
        spool.append(&[i; 100], 1, Kind::Normal, now).unwrap();
    }
    drop(spool);
    let path = std::fs::read_dir(&config.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let second_payload = MAGIC.len() + (segment::HEADER + 100) + segment::HEADER + 50;
    bytes[second_payload] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let mut spool = open(&config);
    assert_eq!(spool.counters.corrupt_records.load(Relaxed), 1);
    assert_eq!(drain(&mut spool), vec![vec![0; 100], vec![2; 100]]);
    // Replay meets the record recovery counted: it is not counted again.
    assert_eq!(spool.counters.corrupt_records.load(Relaxed), 1);
    std::fs::remove_dir_all(&config.dir).unwrap();
}

#[test]
fn over_budget_the_oldest_ordinary_segments_go_first() {
    let mut config = config("budget");
    let frame = (segment::HEADER + 1000) as u64 + MAGIC.len() as u64;
    config.max_bytes = frame * 4;
    let now = SystemTime::now();
    let mut spool = open(&config);
    spool.append(&[9; 1000], 1, Kind::Priority, now).unwrap();
    for i in 0..6u8 {
        // Each ordinary batch in a segment of its own, so eviction is per batch.
        spool.seal(Kind::Normal);
        spool.append(&[i; 1000], 2, Kind::Normal, now).unwrap();
    }
    let c = &spool.counters;
    assert_eq!(
        c.evicted_spans.load(Relaxed),
        6,
        "3 ordinary batches of 2 spans"
    );
    let left = drain(&mut spool);
    assert_eq!(
        left,
        vec![vec![9; 1000], vec![3; 1000], vec![4; 1000], vec![5; 1000]]
    );
    std::fs::remove_dir_all(&config.dir).unwrap();
}

#[test]
fn retention_deletes_or_archives_by_age() {
    let mut config = config("retention");
    let archive = config.dir.with_extension("archive");
    let _ = std::fs::remove_dir_all(&archive);
    config.retention = Duration::from_secs(3600);
    config.archive_dir = Some(archive.clone());
    let t0 = SystemTime::now();
    let mut spool = open(&config);
    spool.append(b"old", 3, Kind::Normal, t0).unwrap();
    spool.seal(Kind::Normal);
    let t1 = t0 + Duration::from_secs(3000);
    spool.append(b"new", 1, Kind::Normal, t1).unwrap();
    spool.cleanup(t0 + Duration::from_secs(3601));
    assert_eq!(spool.counters.expired_spans.load(Relaxed), 3);
    assert_eq!(spool.counters.archived_segments.load(Relaxed), 1);
    let archived: Vec<_> = std::fs::read_dir(&archive).unwrap().collect();
    assert_eq!(archived.len(), 1);
    let name = archived[0].as_ref().unwrap().file_name();
    assert!(name.to_string_lossy().ends_with("-n.seg"), "{name:?}");
    assert_eq!(drain(&mut spool), vec![b"new".to_vec()]);
    std::fs::remove_dir_all(&config.dir).unwrap();
    std::fs::remove_dir_all(&archive).unwrap();
}

#[test]
fn archived_segments_can_be_gzipped() {
    use std::io::Read;
    let mut config = config("archive-gz");
    let archive = config.dir.with_extension("archive");
    let _ = std::fs::remove_dir_all(&archive);
    config.retention = Duration::from_secs(3600);
    config.archive_dir = Some(archive.clone());
    config.archive_compress = true;
    let t0 = SystemTime::now();
    let mut spool = open(&config);
    spool.append(&[7; 5000], 2, Kind::Normal, t0).unwrap();
    spool.seal(Kind::Normal);
    let segment = std::fs::read_dir(&config.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .unwrap();
    let original = std::fs::read(&segment).unwrap();
    spool.cleanup(t0 + Duration::from_secs(3601));
    assert_eq!(spool.counters.archived_segments.load(Relaxed), 1);
    assert!(!segment.exists());
    let names: Vec<String> = std::fs::read_dir(&archive)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected = format!("{}.gz", segment.file_name().unwrap().to_string_lossy());
    assert_eq!(names, vec![expected.clone()]);
    let gz = std::fs::read(archive.join(&expected)).unwrap();
    assert!(gz.len() < original.len() / 4, "{} bytes gzipped", gz.len());
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, original);
    std::fs::remove_dir_all(&config.dir).unwrap();
    std::fs::remove_dir_all(&archive).unwrap();
}

#[test]
fn write_errors_are_counted_not_raised() {
    let config = config("readonly");
    let mut spool = open(&config);
    spool
        .append(b"a", 1, Kind::Normal, SystemTime::now())
        .unwrap();
    // The open segment's file is gone and the directory refuses new ones.
    spool.writers.clear();
    std::fs::remove_dir_all(&config.dir).unwrap();
    let result = spool.append(b"b", 1, Kind::Normal, SystemTime::now());
    assert!(matches!(result, Err(AppendError::Io)));
    let errors = spool.counters.errors.lock().unwrap().clone();
    assert_eq!(errors.values().sum::<u64>(), 1, "{errors:?}");
}

#[test]
fn batches_spooled_after_a_full_drain_are_replayed_after_restarts() {
    let config = config("drained");
    let now = SystemTime::now();
    let mut spool = open(&config);
    spool.append(b"first", 1, Kind::Normal, now).unwrap();
    assert_eq!(drain(&mut spool), vec![b"first".to_vec()]);
    drop(spool);
    // The ledger's cursor is past the drained segment; new segments must be numbered after it.
    let mut spool = open(&config);
    spool.append(b"second", 2, Kind::Normal, now).unwrap();
    drop(spool);
    let mut spool = open(&config);
    assert_eq!(spool.counters.pending_spans.load(Relaxed), 2);
    assert_eq!(drain(&mut spool), vec![b"second".to_vec()]);
    assert!(!spool.has_replayable());
    assert_eq!(spool.counters.evicted_spans.load(Relaxed), 0);
    std::fs::remove_dir_all(&config.dir).unwrap();
}

#[test]
fn segments_behind_the_replay_cursor_are_not_replayed_again() {
    let config = config("behind");
    let mut spool = open(&config);
    spool
        .append(b"sent", 3, Kind::Normal, SystemTime::now())
        .unwrap();
    drop(spool);
    // The cursor moved past the segment (every batch acknowledged) but the process
    // died before deleting it.
    std::fs::write(config.dir.join(ledger::LEDGER), "9 0\n").unwrap();
    let mut spool = open(&config);
    assert_eq!(
        spool.counters.evicted_spans.load(Relaxed),
        0,
        "delivered, not lost"
    );
    assert_eq!(spool.counters.pending_spans.load(Relaxed), 0);
    assert!(drain(&mut spool).is_empty(), "no duplicate");
    spool
        .append(b"new", 1, Kind::Normal, SystemTime::now())
        .unwrap();
    assert_eq!(drain(&mut spool), vec![b"new".to_vec()]);
    std::fs::remove_dir_all(&config.dir).unwrap();
}

#[test]
fn retention_and_the_budget_apply_at_open() {
    let mut config = config("open-cleanup");
    let frame = (segment::HEADER + 1000) as u64 + MAGIC.len() as u64;
    let now = SystemTime::now();
    let mut spool = open(&config);
    let expired = now - DEFAULT_RETENTION - Duration::from_secs(60);
    spool.append(&[9; 1000], 4, Kind::Normal, expired).unwrap();
    for i in 0..3u8 {
        spool.seal(Kind::Normal);
        spool.append(&[i; 1000], 1, Kind::Normal, now).unwrap();
    }
    drop(spool);
    // Restarted with a smaller budget: room for two of the three recent batches.
    config.max_bytes = frame * 2;
    let mut spool = open(&config);
    let c = &spool.counters;
    assert_eq!(c.expired_spans.load(Relaxed), 4, "the batch past retention");
    assert_eq!(c.evicted_spans.load(Relaxed), 1, "the oldest recent batch");
    assert_eq!(c.pending_batches.load(Relaxed), 2);
    assert_eq!(drain(&mut spool), vec![vec![1; 1000], vec![2; 1000]]);
    std::fs::remove_dir_all(&config.dir).unwrap();
}

#[test]
fn replay_reports_what_it_could_not_send_because_it_was_damaged() {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;
    let config = config("replay-damage");
    let batch = ExportTraceServiceRequest {
        resource_spans: vec![Default::default()],
    }
    .encode_to_vec();
    let mut spool = open(&config);
    let now = SystemTime::now();
    spool.append(&batch, 1, Kind::Normal, now).unwrap();
    spool
        .append(b"\xff not protobuf", 1, Kind::Normal, now)
        .unwrap();
    spool.append(&batch, 1, Kind::Normal, now).unwrap();
    spool.seal(Kind::Normal);
    spool.append(&batch, 1, Kind::Normal, now).unwrap();
    drop(spool);
    let mut segments: Vec<PathBuf> = std::fs::read_dir(&config.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    segments.sort();
    // The first segment: its first record's span count (under the checksum) damaged.
    let mut first = std::fs::read(&segments[0]).unwrap();
    first[MAGIC.len() + 13] ^= 0x40;
    std::fs::write(&segments[0], first).unwrap();
    // The second: its header.
    let mut second = std::fs::read(&segments[1]).unwrap();
    second[0] ^= 0xff;
    let second_len = second.len() as u64;
    std::fs::write(&segments[1], second).unwrap();
    // Nothing listens there: replay stops at the first batch it sends.
    let summary = replay(
        &config.dir,
        "http://127.0.0.1:9",
        crate::config::Protocol::HttpProtobuf,
        Duration::from_secs(5),
    )
    .unwrap();
    assert!(summary.error.is_some(), "{summary:?}");
    assert_eq!(summary.batches, 0);
    assert_eq!(
        summary.corrupt_records, 2,
        "a bad checksum, then a bad payload"
    );
    assert_eq!(summary.remaining_batches, 1, "the one it tried to send");
    assert_eq!(summary.set_aside_segments, 1);
    assert_eq!(summary.lost_bytes, second_len);
    std::fs::remove_dir_all(&config.dir).unwrap();
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn a_new_spool_is_private_to_the_user() {
    let mut config = config("private");
    config.dir = config.dir.join("nested");
    let archive = config.dir.with_file_name("archive");
    config.archive_dir = Some(archive.clone());
    let counters = Arc::new(SpoolCounters::default());
    let mut spool = Spool::open(config.clone(), Arc::clone(&counters)).unwrap();
    // Two batches in the first segment, one acknowledged (the ledger is written);
    // one past retention in the second (archived by the cleanup below).
    for i in 0..2 {
        (spool.append(&[i; 10], 1, Kind::Priority, SystemTime::now())).unwrap();
    }
    let old = SystemTime::now() - DEFAULT_RETENTION - Duration::from_secs(3600);
    spool.append(&[3; 10], 1, Kind::Normal, old).unwrap();
    let replay = spool.next_replay().unwrap();
    spool.ack(&replay);
    spool.sync();
    assert_eq!(mode(&config.dir), 0o700, "the directory");
    assert_eq!(
        mode(config.dir.parent().unwrap()),
        0o700,
        "a parent it created"
    );
    let files: Vec<_> = std::fs::read_dir(&config.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.iter().any(|f| f.ends_with("LOCK")), "{files:?}");
    assert!(files.iter().any(|f| f.ends_with("REPLAY")), "{files:?}");
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "seg")),
        "{files:?}"
    );
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    spool.cleanup(SystemTime::now());
    assert_eq!(mode(&archive), 0o700, "the archive directory");
    let archived: Vec<_> = std::fs::read_dir(&archive)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!archived.is_empty());
    for file in &archived {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    assert_eq!(*counters.dir_open_to_others.lock().unwrap(), None);
    drop(spool);
    std::fs::remove_dir_all(config.dir.parent().unwrap()).unwrap();
}

#[cfg(unix)]
#[test]
fn an_existing_open_directory_is_used_as_it_is_and_reported() {
    use std::os::unix::fs::PermissionsExt;
    let config = config("open-dir");
    std::fs::create_dir_all(&config.dir).unwrap();
    std::fs::set_permissions(&config.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let counters = Arc::new(SpoolCounters::default());
    let mut spool = Spool::open(config.clone(), Arc::clone(&counters)).unwrap();
    spool
        .append(&[1; 10], 1, Kind::Normal, SystemTime::now())
        .unwrap();
    assert_eq!(mode(&config.dir), 0o755, "left as it was");
    assert_eq!(*counters.dir_open_to_others.lock().unwrap(), Some(0o755));
    drop(spool);
    std::fs::remove_dir_all(&config.dir).unwrap();
}

/// Several batches in flight, acknowledged out of order: the cursor (and the ledger a
/// restart resumes from) moves only past batches delivered in order, nothing is handed
/// out twice while in flight, and a segment goes only once every batch in it is
/// acknowledged.
#[test]
fn batches_in_flight_are_acknowledged_in_order() {
    let config = config("in-flight");
    let now = SystemTime::now();
    let mut spool = open(&config);
    for i in 0..4u8 {
        spool.append(&[i; 8], 2, Kind::Normal, now).unwrap();
    }
    let before = spool.cursor;
    let handed: Vec<Replay> = std::iter::from_fn(|| spool.next_replay()).collect();
    let payloads: Vec<u8> = handed.iter().map(|r| r.payload[0]).collect();
    assert_eq!(payloads, [0, 1, 2, 3], "each once, oldest first");
    assert!(!spool.has_replayable(), "all in flight");
    // The second and fourth delivered first: the cursor does not move.
    spool.ack(&handed[1]);
    spool.ack(&handed[3]);
    assert_eq!(spool.cursor, before);
    assert_eq!(spool.counters.pending_batches.load(Relaxed), 4);
    // A restart now would send all four again (at least once).
    drop(spool);
    let mut spool = open(&config);
    assert_eq!(spool.counters.pending_batches.load(Relaxed), 4);
    let again: Vec<Replay> = std::iter::from_fn(|| spool.next_replay()).collect();
    assert_eq!(again.len(), 4);
    spool.ack(&again[1]);
    spool.ack(&again[0]);
    assert_eq!(
        spool.cursor,
        (again[1].seq, again[1].end),
        "past the first two"
    );
    assert_eq!(spool.counters.pending_spans.load(Relaxed), 4);
    assert_eq!(spool.segments.len(), 1, "the segment still holds two");
    spool.ack(&again[3]);
    spool.ack(&again[2]);
    assert_eq!(spool.segments.len(), 0, "all acknowledged: deleted");
    assert_eq!(spool.counters.pending_spans.load(Relaxed), 0);
    assert_eq!(
        spool.counters.evicted_spans.load(Relaxed),
        0,
        "nothing lost"
    );
    std::fs::remove_dir_all(&config.dir).unwrap();
}

/// A failed batch rewinds replay to the cursor: what was not acknowledged in order is
/// handed out again, and an acknowledgement that arrives for a batch handed out
/// before the rewind is not counted twice.
#[test]
fn a_rewind_hands_out_again_what_the_cursor_has_not_passed() {
    let config = config("rewind");
    let now = SystemTime::now();
    let mut spool = open(&config);
    for i in 0..3u8 {
        spool.append(&[i; 8], 1, Kind::Normal, now).unwrap();
    }
    let first = spool.next_replay().unwrap();
    let second = spool.next_replay().unwrap();
    let third = spool.next_replay().unwrap();
    spool.ack(&first);
    // The second failed; the third was delivered, but after the failure was seen.
    spool.rewind();
    spool.ack(&third);
    let again: Vec<u8> = std::iter::from_fn(|| spool.next_replay())
        .map(|r| r.payload[0])
        .collect();
    assert_eq!(again, [1, 2], "from the cursor on");
    assert_eq!(spool.counters.pending_batches.load(Relaxed), 2);
    spool.ack(&second);
    spool.ack(&third);
    assert!(!spool.has_replayable());
    assert_eq!(spool.segments.len(), 0);
    std::fs::remove_dir_all(&config.dir).unwrap();
}
