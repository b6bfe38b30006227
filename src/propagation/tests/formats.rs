//! B3 and Jaeger header values: valid, invalid and hostile.

use super::super::formats::*;

const TRACE: &str = "80f198ee56343ba864fe8b2a57d3eff7";
const SPAN: &str = "e457b5a2e4d86bd1";

#[test]
fn b3_single_reads_every_valid_shape() {
    let cases = [
        (format!("{TRACE}-{SPAN}"), false),
        (format!("{TRACE}-{SPAN}-1"), true),
        (format!("{TRACE}-{SPAN}-0"), false),
        (format!("{TRACE}-{SPAN}-d"), true),
        (format!("{TRACE}-{SPAN}-1-05e3ac9a4f6e3b90"), true),
        (format!("{}-{SPAN}-1", TRACE.to_uppercase()), true),
    ];
    for (value, sampled) in cases {
        let cx = parse_b3_single(&value).unwrap_or_else(|| panic!("{value}"));
        assert_eq!(cx.trace_id().to_string(), TRACE, "{value}");
        assert_eq!(cx.span_id().to_string(), SPAN);
        assert_eq!(cx.is_sampled(), sampled, "{value}");
    }
}

#[test]
fn b3_pads_64_bit_trace_ids() {
    let cx = parse_b3_single(&format!("a57d3eff780f198e-{SPAN}-1")).unwrap();
    assert_eq!(
        cx.trace_id().to_string(),
        "0000000000000000a57d3eff780f198e"
    );
    let cx = parse_b3_multi("a57d3eff780f198e", SPAN, None, None).unwrap();
    assert_eq!(
        cx.trace_id().to_string(),
        "0000000000000000a57d3eff780f198e"
    );
}

#[test]
fn b3_refuses_invalid_and_hostile_values() {
    let long = "a".repeat(100_000);
    let cases = [
        String::new(),
        "0".into(),
        "1".into(),
        TRACE.to_string(),
        format!("{TRACE}-{SPAN}-2"),
        format!("{TRACE}-{SPAN}-1-nothex0000000000"),
        format!("{TRACE}-{SPAN}-1-05e3ac9a4f6e3b90-extra"),
        format!("{}-{SPAN}-1", "0".repeat(32)),
        format!("{TRACE}-{}-1", "0".repeat(16)),
        format!("{}-{SPAN}-1", &TRACE[..20]),
        format!("{TRACE}-{}-1", &SPAN[..10]),
        format!("+{}-{SPAN}-1", &TRACE[1..]),
        format!("{TRACE}-{SPAN}-é"),
        format!("{long}-{SPAN}-1"),
        "-".repeat(10_000),
    ];
    for value in cases {
        assert_eq!(parse_b3_single(&value), None, "{value:.80}");
    }
    assert_eq!(parse_b3_multi(TRACE, SPAN, Some("yes"), None), None);
    assert_eq!(parse_b3_multi("", SPAN, None, None), None);
    assert_eq!(parse_b3_multi(TRACE, &long, None, None), None);
}

#[test]
fn b3_multi_reads_sampled_and_debug_flags() {
    let sampled = |s, f| parse_b3_multi(TRACE, SPAN, s, f).unwrap().is_sampled();
    assert!(sampled(Some("1"), None));
    assert!(sampled(Some("true"), None));
    assert!(!sampled(Some("0"), None));
    assert!(
        !sampled(None, None),
        "a deferred decision reads as not sampled"
    );
    assert!(sampled(None, Some("1")), "debug");
}

#[test]
fn b3_single_round_trips() {
    let cx = parse_b3_single(&format!("{TRACE}-{SPAN}-1")).unwrap();
    assert_eq!(format_b3_single(&cx), format!("{TRACE}-{SPAN}-1"));
    let unsampled = cx.with_trace_flags(0);
    assert_eq!(format_b3_single(&unsampled), format!("{TRACE}-{SPAN}-0"));
}

#[test]
fn jaeger_reads_valid_values() {
    let cx = parse_jaeger(&format!("{TRACE}:{SPAN}:0:1")).unwrap();
    assert_eq!(
        (cx.trace_id().to_string(), cx.is_sampled()),
        (TRACE.into(), true)
    );
    // Leading zeros left out, percent-encoded separators, the debug bit alone.
    let cx = parse_jaeger("abc%3A1f%3A0%3A03").unwrap();
    assert_eq!(cx.trace_id().to_string(), format!("{:0>32}", "abc"));
    assert_eq!(cx.span_id().to_string(), "000000000000001f");
    assert!(cx.is_sampled());
    assert!(!parse_jaeger(&format!("{TRACE}:{SPAN}:0:02"))
        .unwrap()
        .is_sampled());
    assert!(!parse_jaeger(&format!("{TRACE}:{SPAN}:{SPAN}:0"))
        .unwrap()
        .is_sampled());
}

#[test]
fn jaeger_refuses_invalid_and_hostile_values() {
    let cases = [
        String::new(),
        format!("{TRACE}:{SPAN}:0"),
        format!("{TRACE}:{SPAN}:0:1:extra"),
        format!("0:{SPAN}:0:1"),
        format!("{TRACE}:0:0:1"),
        format!("{TRACE}0:{SPAN}:0:1"),
        format!("{TRACE}:{SPAN}0:0:1"),
        format!("{TRACE}:{SPAN}:0:100"),
        format!("{TRACE}:{SPAN}:x:1"),
        format!("{TRACE}:{SPAN}:0:"),
        format!("{TRACE}%ZZ{SPAN}:0:1"),
        format!("{TRACE}%FF:{SPAN}:0:1"),
        ":".repeat(10_000),
        format!("{}:{SPAN}:0:1", "f".repeat(5000)),
    ];
    for value in cases {
        assert_eq!(parse_jaeger(&value), None, "{value:.80}");
    }
}

#[test]
fn jaeger_round_trips() {
    let cx = parse_jaeger(&format!("{TRACE}:{SPAN}:0:1")).unwrap();
    let formatted = format_jaeger(&cx);
    assert_eq!(formatted, format!("{TRACE}:{SPAN}:0:01"));
    assert_eq!(parse_jaeger(&formatted), Some(cx));
}
