//! Hostile input never hurts the host: a field whose `Debug` panics is replaced
//! by a placeholder (the panic does not reach the instrumented code), a 10 MB
//! value is cut to `max_attribute_value_bytes`, and a flood of events is capped
//! while the error event is still kept; every cut is counted in the report.

mod common;

use std::fmt;

use common::{builder_for, events_named, observe, only, shutdown_complete};
use integration_tests::{attr_i64, attr_str, OtlpReceiver};
use tracing_observer::config::Protocol;
use tracing_observer::proto::trace::v1::status::StatusCode;

/// A value whose `Debug` impl panics.
struct Bomb;

impl fmt::Debug for Bomb {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        panic!("Debug of Bomb exploded (expected by the test)")
    }
}

/// `…`, which marks a value cut at the byte limit, is 3 bytes.
const MARK_BYTES: usize = '…'.len_utf8();

#[test]
fn panicking_debug_field_is_contained() {
    let receiver = OtlpReceiver::start();
    let observer = builder_for(&receiver, Protocol::Grpc).build().unwrap();
    let finished = observe(&observer, || {
        let span = tracing::info_span!("hostile", bomb = ?Bomb, fine = 1);
        span.in_scope(|| tracing::info!(bomb = ?Bomb, fine = 2, "event with a bomb"));
        span.record("fine", 3);
        true
    });
    assert!(finished, "the host ran to completion");
    let report = shutdown_complete(&observer);
    assert_eq!(report.stats.values_truncated, 2, "{report}");

    let spans = receiver.spans();
    let span = only(&spans, "hostile");
    let placeholder = attr_str(span, "bomb").expect("placeholder for the span field");
    assert!(!placeholder.is_empty());
    assert!(
        !placeholder.contains("exploded"),
        "the panic message is not a value: {placeholder}"
    );
    assert_eq!(attr_i64(span, "fine"), Some(3), "other fields unaffected");

    let events = events_named(span, "event with a bomb");
    assert_eq!(events.len(), 1);
    assert_eq!(
        attr_str(events[0], "bomb").as_deref(),
        Some(placeholder.as_str())
    );
    assert_eq!(attr_i64(events[0], "fine"), Some(2));
}

#[test]
fn ten_megabyte_values_are_cut_to_the_limit() {
    const LIMIT: usize = 1024;
    let huge = "x".repeat(10 * 1024 * 1024);
    let huge_list = vec![7_u8; 10 * 1024 * 1024];
    let receiver = OtlpReceiver::start();
    let observer = builder_for(&receiver, Protocol::Grpc)
        .max_attribute_value_bytes(LIMIT)
        .build()
        .unwrap();
    observe(&observer, || {
        let span = tracing::info_span!(
            "big",
            payload = huge.as_str(),
            list = ?huge_list,
            small = "fits"
        );
        span.in_scope(|| tracing::info!(body = huge.as_str(), "big event"));
    });
    let report = shutdown_complete(&observer);
    assert_eq!(report.stats.values_truncated, 3, "{report}");

    let spans = receiver.spans();
    let span = only(&spans, "big");
    let payload = attr_str(span, "payload").expect("payload kept, cut");
    assert!(
        payload.len() <= LIMIT + MARK_BYTES,
        "payload is {} bytes",
        payload.len()
    );
    assert!(
        payload.len() >= LIMIT / 2,
        "payload is {} bytes",
        payload.len()
    );
    assert!(payload.starts_with("xxxx"));
    let list = attr_str(span, "list").expect("list kept, cut");
    assert!(
        list.len() <= LIMIT + MARK_BYTES,
        "list is {} bytes",
        list.len()
    );
    assert!(list.starts_with("[7, 7"));
    assert_eq!(attr_str(span, "small").as_deref(), Some("fits"));

    let body = attr_str(&span.span.events[0], "body").expect("body kept, cut");
    assert!(
        body.len() <= LIMIT + MARK_BYTES,
        "body is {} bytes",
        body.len()
    );

    let request_bytes: usize = receiver
        .requests()
        .iter()
        .map(prost::Message::encoded_len)
        .sum();
    assert!(
        request_bytes < 64 * 1024,
        "the export carried {request_bytes} bytes for three cut values"
    );
}

#[test]
fn event_flood_is_capped_but_the_error_is_kept() {
    const LIMIT: usize = 8;
    const FLOOD: usize = 50;
    let receiver = OtlpReceiver::start();
    let observer = builder_for(&receiver, Protocol::Grpc)
        .max_events_per_span(LIMIT)
        .build()
        .unwrap();
    observe(&observer, || {
        tracing::info_span!("flooded").in_scope(|| {
            for i in 0..FLOOD {
                tracing::info!(i, "noise");
            }
            tracing::error!(code = 500, "the failure that matters");
        });
    });
    let report = shutdown_complete(&observer);
    let dropped = (FLOOD - LIMIT) as u64;
    assert_eq!(report.stats.events_dropped, dropped, "{report}");

    let spans = receiver.spans();
    let span = only(&spans, "flooded");
    assert_eq!(span.span.dropped_events_count, dropped as u32);
    assert_eq!(events_named(span, "noise").len(), LIMIT);
    let exceptions = events_named(span, "exception");
    assert_eq!(
        exceptions.len(),
        1,
        "the error event is kept past the limit"
    );
    assert_eq!(
        attr_str(exceptions[0], "exception.message").as_deref(),
        Some("the failure that matters")
    );
    assert_eq!(attr_i64(exceptions[0], "code"), Some(500));
    assert_eq!(
        span.span.status.as_ref().map(|s| s.code),
        Some(StatusCode::Error as i32)
    );
}

#[test]
fn attribute_flood_is_capped_and_counted() {
    const LIMIT: usize = 4;
    let receiver = OtlpReceiver::start();
    let observer = builder_for(&receiver, Protocol::Grpc)
        .max_attributes_per_span(LIMIT)
        .build()
        .unwrap();
    observe(&observer, || {
        tracing::info_span!("wide", a = 1, b = 2, c = 3, d = 4, e = 5, f = 6).in_scope(|| {});
    });
    let report = shutdown_complete(&observer);
    assert_eq!(report.stats.attributes_dropped, 2, "{report}");
    let spans = receiver.spans();
    let span = only(&spans, "wide");
    assert_eq!(span.span.dropped_attributes_count, 2);
    assert_eq!(attr_i64(span, "a"), Some(1));
    assert_eq!(attr_i64(span, "f"), None);
}
