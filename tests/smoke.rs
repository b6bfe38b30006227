use std::time::Duration;
use tracing_observer::{InMemoryExporter, Observer};
use tracing_subscriber::prelude::*;

#[test]
fn smoke() {
    let exporter = InMemoryExporter::new();
    let observer = Observer::builder().exporter(exporter.clone()).build().unwrap();
    let subscriber = tracing_subscriber::registry().with(observer.layer());
    tracing::subscriber::with_default(subscriber, || {
        let root = tracing::info_span!("root", answer = 42);
        let _g = root.enter();
        let child = tracing::info_span!("child");
        child.in_scope(|| tracing::error!(error = "boom", "failed"));
    });
    let report = observer.shutdown(Duration::from_secs(5));
    println!("{report}");
    println!("{}", serde_json::to_string(&report).unwrap());
    for s in exporter.spans() {
        println!("{:?}", s);
    }
    assert_eq!(exporter.spans().len(), 2);
}
