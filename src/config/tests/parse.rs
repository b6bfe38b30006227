//! The parsers of settings' text.
use crate::config::check::{self, positive};
use crate::config::parse::*;
use crate::config::{Compression, Protocol, TracesExporter};
use crate::export::endpoint::parse as endpoint;
use crate::sampling::{Sampler, SamplingRule};
use std::time::Duration;

#[test]
fn durations() {
    assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(duration("5s"), Ok(Duration::from_secs(5)));
    assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(duration("1500"), Ok(Duration::from_millis(1500)));
    assert!(duration("5 parsecs").is_err());
    assert!(duration("").is_err());
    assert!(millis("1.5").is_err());
}

#[test]
fn key_value_lists() {
    assert_eq!(
        key_values("a=1, b = x%20y ,").unwrap(),
        vec![("a".into(), "1".into()), ("b".into(), "x y".into())]
    );
    assert!(key_values("novalue").is_err());
    assert!(key_values("=v").is_err());
    assert!(key_values("a=%zz").is_err());
}

#[test]
fn endpoints_need_a_scheme() {
    assert!(endpoint("http://localhost:4317").is_ok());
    assert!(endpoint("localhost:4317").is_err());
    assert!(endpoint("ftp://collector").is_err());
    assert!(endpoint("not a url").is_err());
}

#[test]
fn sizes() {
    assert_eq!(bytes("64MiB"), Ok(64 << 20));
    assert_eq!(bytes("1g"), Ok(1 << 30));
    assert_eq!(bytes("4096"), Ok(4096));
    assert!(positive(&bytes("0").unwrap()).is_err());
    assert!(bytes("lots").is_err());
    assert!(bytes("5TB").is_err());
}

#[test]
fn samplers_and_rules() {
    assert_eq!(
        with_ratio(sampler("traceidratio").unwrap(), 0.5),
        Sampler::TraceIdRatio(0.5)
    );
    assert_eq!(
        with_ratio(sampler("parentbased_traceidratio").unwrap(), 0.5),
        Sampler::parent_based(Sampler::TraceIdRatio(0.5))
    );
    assert_eq!(sampler("parentbased_always_on"), Ok(Sampler::default()));
    assert!(sampler("jaeger_remote").is_err());
    assert!(ratio("1.5").is_err());
    assert!(ratio("abc").is_err());
    assert_eq!(ratio_number("1.5"), Ok(1.5));
    assert!(check::ratio(&1.5).is_err());
    assert!(ratio_number("abc").is_err());
    let rules = sampling_rules("app::hot=0.001, app::jobs=0.2@10, /health=0").unwrap();
    assert_eq!(rules[0], SamplingRule::target("app::hot").ratio(0.001));
    assert_eq!(
        rules[1],
        SamplingRule::target("app::jobs")
            .ratio(0.2)
            .rate_limit(10.0)
    );
    assert_eq!(rules[2], SamplingRule::name("health").ratio(0.0));
    assert!(sampling_rules("app=2").is_err());
    assert!(sampling_rules("app").is_err());
    assert!(sampling_rules("app=0.5@fast").is_err());
}

#[test]
fn failure_rates() {
    assert_eq!(failure_rate("0.5/20"), Ok((0.5, 20)));
    assert_eq!(failure_rate(" 1 / 1 "), Ok((1.0, 1)));
    // The text's form is the parser's, the rate's and the calls' range the check's.
    let read = |text| failure_rate(text).and_then(|rule| check::failure_rate(&rule).map(|()| rule));
    for bad in ["0.5", "half/20", "0.5/x", "0.5/-1", "/"] {
        assert!(failure_rate(bad).is_err(), "{bad}");
    }
    for out_of_range in ["0/20", "1.5/20", "NaN/20", "-0.5/20", "0.5/0"] {
        assert!(failure_rate(out_of_range).is_ok(), "{out_of_range}");
        assert!(read(out_of_range).is_err(), "{out_of_range}");
    }
    assert!(failure_rate("0.5")
        .unwrap_err()
        .starts_with("expected RATE/MIN_CALLS"));
}

#[test]
fn enums() {
    assert_eq!(protocol("http/protobuf"), Ok(Protocol::HttpProtobuf));
    assert!(protocol("grpcx").is_err());
    assert_eq!(compression("gzip"), Ok(Compression::Gzip));
    assert!(compression("zstd").is_err());
    assert_eq!(traces_exporter("none"), Ok(TracesExporter::None));
    assert!(traces_exporter("otlp,console").is_err());
    assert_eq!(boolean("TRUE"), Ok(true));
    assert!(boolean("yes").is_err());
    assert!(integer("x").is_err());
    assert!(positive(&integer("0").unwrap()).is_err());
}
