//! The direct encoder against the reference conversion: prost decodes the encoder's
//! bytes into exactly the message the conversion builds, for generated records
//! (every value type, events, links, status, remote parents, built-in names taken by
//! user fields, huge spans) and for records captured through the layer (limits,
//! truncation, redaction, promoted sampled-out spans).

use super::reference;
use super::*;
use crate::ids::{SpanId, TraceId};
use crate::record::{EventRecord, HeldEvent, Limits, Lineage, Timing};
use crate::resources::ThreadAllocations;
use compact_str::CompactString;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use std::time::Duration;
use tracing_core::field::FieldSet;
use tracing_core::metadata::Kind;
use tracing_core::{identify_callsite, Interest, Level};

/// A test callsite: its metadata is `METADATA[self.0]`.
struct TestCallsite(usize);

impl tracing_core::Callsite for TestCallsite {
    fn set_interest(&self, _: Interest) {}
    fn metadata(&self) -> &Metadata<'_> {
        METADATA[self.0]
    }
}

static CALLSITES: [TestCallsite; 5] = [
    TestCallsite(0),
    TestCallsite(1),
    TestCallsite(2),
    TestCallsite(3),
    TestCallsite(4),
];

macro_rules! metadata {
    ($name:expr, $level:expr, $file:expr, $line:expr, $module:expr, $kind:expr, $i:expr) => {
        Metadata::new(
            $name,
            "app::target",
            $level,
            $file,
            $line,
            $module,
            FieldSet::new(&[], identify_callsite!(&CALLSITES[$i])),
            $kind,
        )
    };
}

static SPAN_FULL: Metadata<'static> = metadata!(
    "checkout",
    Level::INFO,
    Some("src/shop.rs"),
    Some(42),
    Some("app::shop"),
    Kind::SPAN,
    0
);
static SPAN_BARE: Metadata<'static> =
    metadata!("bare", Level::TRACE, None, None, None, Kind::SPAN, 1);
static SPAN_UNNAMED: Metadata<'static> = metadata!(
    "",
    Level::WARN,
    Some("src/x.rs"),
    None,
    Some("app"),
    Kind::SPAN,
    2
);
static EVENT_ERROR: Metadata<'static> = metadata!(
    "event src/shop.rs:50",
    Level::ERROR,
    Some("src/shop.rs"),
    Some(50),
    Some("app::shop"),
    Kind::EVENT,
    3
);
static EVENT_DEBUG: Metadata<'static> =
    metadata!("event", Level::DEBUG, None, None, None, Kind::EVENT, 4);
static METADATA: [&Metadata<'static>; 5] = [
    &SPAN_FULL,
    &SPAN_BARE,
    &SPAN_UNNAMED,
    &EVENT_ERROR,
    &EVENT_DEBUG,
];

/// A seeded generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Keys user fields take, built-in names among them.
const KEYS: &[&str] = &[
    "user.id",
    "http.route",
    "db.statement",
    "",
    "level",
    "target",
    "thread.id",
    "thread.name",
    "busy_ns",
    "idle_ns",
    "code.line.number",
    "code.function.name",
    "code.module.name",
    "thread.cpu_time_ns",
    "thread.alloc_count",
    "exception.message",
    "ünïcödé.key",
];

fn text(rng: &mut Rng) -> String {
    match rng.below(6) {
        0 => String::new(),
        1 => "short".into(),
        2 => "héllo wörld … ✓ 日本".into(),
        3 => "x".repeat(rng.below(300) as usize),
        4 => format!("value-{}", rng.next()),
        _ => "line\nbreak\ttab".into(),
    }
}

fn value(rng: &mut Rng) -> Value {
    match rng.below(7) {
        0 => Value::Bool(rng.chance(50)),
        1 => Value::I64(rng.pick(&[0, 1, -1, 127, 128, i64::MIN, i64::MAX, 300_000])),
        2 => Value::I64(rng.next() as i64),
        3 => Value::F64(rng.pick(&[0.0, -0.0, 1.5, -2.25e300, f64::INFINITY, f64::MIN_POSITIVE])),
        4 => Value::Str(CompactString::from(text(rng))),
        5 => Value::Static(rng.pick(&["static", "", "[REDACTED]"])),
        _ => Value::StrArray((0..rng.below(4)).map(|_| text(rng)).collect()),
    }
}

fn attributes(rng: &mut Rng, max: u64) -> Vec<Attribute> {
    let mut out: Vec<Attribute> = Vec::new();
    for _ in 0..rng.below(max + 1) {
        let key = rng.pick(KEYS);
        if !out.iter().any(|a| a.key == key) {
            out.push(Attribute {
                key,
                value: value(rng),
            });
        }
    }
    out
}

fn context(rng: &mut Rng) -> SpanContext {
    let cx = SpanContext::new(
        TraceId::from_u128(u128::from(rng.next()) << 64 | u128::from(rng.next() | 1)),
        SpanId::from_u64(rng.next() | 1),
    )
    .with_trace_flags(rng.pick(&[0, 1]));
    if rng.chance(30) {
        cx.with_trace_state("vendor=abc,other=1")
    } else {
        cx
    }
}

fn record(rng: &mut Rng, thread_id: u64) -> Box<SpanRecord> {
    let metadata = rng.pick(&[&SPAN_FULL, &SPAN_BARE, &SPAN_UNNAMED]);
    let parent = context(rng);
    let lineage = match rng.below(3) {
        0 => Lineage::root(parent.trace_id(), rng.pick(&[0, 1])),
        1 => Lineage::child_of(&parent, false),
        _ => Lineage::child_of(&parent, true),
    };
    let start = crate::clock::now_nanos();
    let mut record = Box::new(SpanRecord::new(
        metadata,
        lineage,
        SpanId::from_u64(rng.next() | 1),
        start,
    ));
    record.thread_id = thread_id;
    record.name = match rng.below(4) {
        0 => Some("GET /orders/{id}".into()),
        1 => Some(String::new()),
        _ => None,
    };
    record.kind = rng.pick(&[
        SpanKind::Internal,
        SpanKind::Server,
        SpanKind::Client,
        SpanKind::Producer,
        SpanKind::Consumer,
    ]);
    record.status = rng.pick(&[StatusCode::Unset, StatusCode::Ok, StatusCode::Error]);
    if rng.chance(50) {
        record.status_description = Some(text(rng));
    }
    let mut timing = Timing::new(start);
    timing.end = start + rng.below(10_000_000_000);
    let big = rng.next();
    timing.busy = rng.pick(&[0, 1, big]);
    timing.idle = rng.below(1 << 40);
    if rng.chance(40) {
        timing.cpu = Some(Duration::from_nanos(rng.below(1 << 50)));
    }
    if rng.chance(30) {
        timing.allocations = Some(ThreadAllocations {
            bytes: rng.next(),
            count: rng.below(1000),
        });
    }
    record.timing = timing;
    record.attributes = attributes(rng, 8);
    record.dropped_attributes = rng.pick(&[0, 0, 3, 300]);
    for _ in 0..rng.below(4) {
        let metadata = rng.pick(&[None, Some(&EVENT_ERROR), Some(&EVENT_DEBUG)]);
        let event = EventRecord {
            name: if rng.chance(50) {
                EventName::Static(rng.pick(&["exception", "event", ""]))
            } else {
                EventName::Message(CompactString::from(text(rng)))
            },
            metadata,
            time: start + rng.below(1_000_000),
            attributes: attributes(rng, 4),
        };
        // Owned, or shared with a log record: encoded alike.
        let mut event = HeldEvent::from(event);
        if rng.chance(50) {
            let _log = event.share();
        }
        record.events.push(event);
    }
    record.dropped_events = rng.pick(&[0, 0, 1]);
    for _ in 0..rng.below(3) {
        record.links.push(context(rng));
    }
    record.dropped_links = rng.pick(&[0, 0, 2]);
    record.kept_by = rng.pick(&[None, None, Some("error"), Some("slow")]);
    record
}

/// Encodes `records` and converts them with the reference; both must agree.
fn assert_same(
    encoder: &mut RequestEncoder,
    caches: &mut reference::Caches,
    resource: &ServiceResource,
    records: &[Box<SpanRecord>],
) -> EncodedRequest {
    let clock = ClockAnchor::now();
    let encoded = encoder.encode(records, &clock);
    let expected = reference::request(resource, records, &clock, caches);
    let decoded = ExportTraceServiceRequest::decode(encoded.bytes().as_ref())
        .expect("the encoder's output decodes");
    let spans = |r: &ExportTraceServiceRequest| r.resource_spans[0].scope_spans[0].spans.clone();
    for (i, (got, want)) in spans(&decoded).iter().zip(spans(&expected)).enumerate() {
        assert_eq!(got, &want, "span {i} differs");
    }
    assert_eq!(decoded, expected);
    assert_eq!(encoded.spans(), records.len());
    let errors = records.iter().any(|r| r.status == StatusCode::Error);
    assert_eq!(encoded.has_errors(), errors);
    encoded
}

fn resource() -> ServiceResource {
    ServiceResource::new(
        "checkout",
        &[("deployment.environment.name".into(), "test".into())],
    )
}

#[test]
fn generated_records_decode_to_the_reference_conversion() {
    crate::clock::start();
    let resource = resource();
    let mut encoder = RequestEncoder::new(&resource);
    let mut caches = reference::Caches::default();
    let named = thread::current_id();
    let mut rng = Rng(0x5eed);
    // Earlier requests stay alive while later ones reuse the buffer.
    let mut kept = Vec::new();
    for batch in 0..40 {
        let size = rng.pick(&[0, 1, 7, 64, 512]);
        let records: Vec<_> = (0..size)
            .map(|_| {
                let thread = rng.pick(&[named, 1, 2, u64::MAX]);
                record(&mut rng, thread)
            })
            .collect();
        let encoded = assert_same(&mut encoder, &mut caches, &resource, &records);
        kept.push((batch, encoded, records));
    }
    for (_, encoded, records) in &kept {
        let decoded = encoded.decode().unwrap();
        assert_eq!(
            decoded.resource_spans[0].scope_spans[0].spans.len(),
            records.len()
        );
    }
}

#[test]
fn lengths_too_large_for_their_placeholder_widen_it() {
    crate::clock::start();
    let resource = resource();
    let mut encoder = RequestEncoder::new(&resource);
    let mut caches = reference::Caches::default();
    let mut rng = Rng(7);
    let mut records = Vec::new();
    // 20 kB (3-byte length) and 3 MB (4-byte length) spans and events.
    for size in [20_000, 3_000_000] {
        let mut big = record(&mut rng, 1);
        big.attributes = vec![Attribute {
            key: "payload",
            value: Value::Str(CompactString::from("p".repeat(size))),
        }];
        big.events.push(
            EventRecord {
                name: EventName::Message(CompactString::from("m".repeat(size))),
                metadata: None,
                time: big.timing.start,
                attributes: Vec::new(),
            }
            .into(),
        );
        records.push(big);
        records.push(record(&mut rng, 2));
    }
    assert_same(&mut encoder, &mut caches, &resource, &records);
}

#[test]
fn every_key_the_worker_adds_is_a_builtin() {
    for metadata in METADATA {
        for kv in callsite_attributes(metadata) {
            assert!(is_builtin_key(&kv.key), "{}", kv.key);
        }
    }
    for key in [
        "thread.id",
        "thread.name",
        "busy_ns",
        "idle_ns",
        "thread.cpu_time_ns",
        "thread.alloc_bytes",
        "thread.alloc_count",
    ] {
        assert!(is_builtin_key(key), "{key}");
    }
    assert!(!is_builtin_key("user.id"));
}

#[test]
fn padded_lengths_decode_and_widen() {
    for len in [0usize, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152] {
        let mut buf = Vec::new();
        buf.push(tag(1, LEN));
        let at = placeholder(&mut buf, INNER_WIDTH);
        buf.resize(buf.len() + len, b'a');
        patch(&mut buf, at, INNER_WIDTH);
        let mut slice = &buf[1..];
        let decoded = prost::encoding::decode_varint(&mut slice).unwrap();
        assert_eq!(decoded as usize, len);
        assert_eq!(slice.len(), len);
        assert_eq!(varint_len(len as u64).max(INNER_WIDTH), buf.len() - 1 - len);
    }
}

/// Records captured by the real layer with tight limits, redaction, a remote parent
/// and ratio sampling whose failing spans are promoted.
#[test]
fn layer_records_decode_to_the_reference_conversion() {
    use crate::layer::ObserverLayer;
    use crate::record::policy::FieldPolicy;
    use crate::recorder::{QueueBounds, Recorder};
    use crate::sampling::{HeadSampler, OverheadMeter, SampledOutTable, Sampler, Sampling};
    use std::sync::Arc;
    use tracing_subscriber::prelude::*;

    crate::clock::start();
    let recorder = Arc::new(Recorder::new(
        QueueBounds {
            max_spans: 100_000,
            max_bytes: 1 << 30,
            batch_size: 512,
        },
        Limits {
            max_attributes: 4,
            max_event_attributes: 2,
            max_events: 2,
            max_links: 1,
            max_value_bytes: 16,
            thread_cpu_time: true,
        },
        FieldPolicy::new(&["password".into()], None),
        Sampling {
            head: HeadSampler::new(&Sampler::TraceIdRatio(0.5), &[]),
            table: SampledOutTable::new(),
            keep_errors: true,
            slow_span_threshold: None,
            overhead: OverheadMeter::new(None),
        },
        None,
        false,
    ));
    let subscriber = tracing_subscriber::registry().with(ObserverLayer::new(
        Some(Arc::clone(&recorder)),
        Arc::from([]),
    ));
    tracing::subscriber::with_default(subscriber, || {
        let mut linked = None;
        for i in 0..300u64 {
            let remote = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
            let root = if i % 5 == 0 {
                tracing::info_span!("request", traceparent = remote, i, otel.kind = "server")
            } else {
                tracing::info_span!("request", i, password = "hunter2", otel.name = "GET /x")
            };
            let _root = root.enter();
            let child = tracing::debug_span!(
                "query",
                db.statement = "SELECT * FROM a_table_with_a_long_name",
                a = 1.5,
                b = true,
                c = -3i64,
                d = u64::MAX,
                e = "overflow",
            );
            if let Some(id) = linked.take() {
                child.follows_from(id);
                child.follows_from(root.id());
            }
            linked = root.id();
            let _child = child.enter();
            tracing::info!(k = 1, j = "x", l = 2, "message number {i}");
            tracing::info!(level = "custom", "event with a level field");
            if i % 7 == 0 {
                tracing::error!(error = "boom\u{7}bell", "failed");
            }
            tracing::warn!("one too many");
        }
    });
    let resource = resource();
    let mut encoder = RequestEncoder::new(&resource);
    let mut caches = reference::Caches::default();
    let mut records = Vec::new();
    while let Some(record) = recorder.queue.pop() {
        records.push(record);
    }
    assert!(
        records.iter().any(|r| r.kept_by.is_some()),
        "promoted spans"
    );
    assert!(records.iter().any(|r| r.parent_is_remote), "remote parents");
    assert!(records.iter().any(|r| r.truncated_values > 0), "truncation");
    assert!(records.iter().any(|r| r.dropped_attributes > 0), "limits");
    assert!(records.iter().any(|r| !r.links.is_empty()), "links");
    for batch in records.chunks(100) {
        assert_same(&mut encoder, &mut caches, &resource, batch);
    }
}
