//! W3C baggage: parsing, encoding and the limits.

use super::super::{Baggage, BaggageError};

#[test]
fn parses_members_with_properties_and_encoding() {
    let baggage = Baggage::from_header(
        " userId=alice , serverNode=DF%2028;ttl=60 ,isProduction=false,emoji=%F0%9F%98%80",
    );
    let entries: Vec<_> = baggage.iter().collect();
    assert_eq!(
        entries,
        [
            ("userId", "alice"),
            ("serverNode", "DF 28"),
            ("isProduction", "false"),
            ("emoji", "😀")
        ]
    );
    assert_eq!(
        baggage.to_header(),
        "userId=alice,serverNode=DF%2028;ttl=60,isProduction=false,emoji=%F0%9F%98%80"
    );
}

#[test]
fn skips_malformed_members() {
    let baggage = Baggage::from_header(
        "ok=1,novalue,=v,bad key=1,quote=\"x\",semi=a;;,back=a\\b,utf=%FF,,last=2,ok=3",
    );
    let entries: Vec<_> = baggage.iter().collect();
    assert_eq!(
        entries,
        [("ok", "3"), ("last", "2")],
        "a repeated key: the last wins"
    );
}

#[test]
fn encodes_what_is_not_a_baggage_octet() {
    let mut baggage = Baggage::new();
    baggage.insert("k", "a b,c;d\\e\"f%g+h=é").unwrap();
    let header = baggage.to_header();
    assert_eq!(header, "k=a%20b%2Cc%3Bd%5Ce%22f%25g%2Bh=%C3%A9");
    assert_eq!(Baggage::from_header(&header), baggage);
}

#[test]
fn refuses_headers_over_the_limits() {
    // Over 8192 bytes: refused whole.
    let big = (0..2000)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join(",");
    assert!(big.len() > Baggage::MAX_BYTES);
    assert!(Baggage::from_header(&big).is_empty());
    // More than 180 members: the first 180 are kept.
    let many = (0..300)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join(",");
    assert!(many.len() <= Baggage::MAX_BYTES);
    let baggage = Baggage::from_header(&many);
    assert_eq!(baggage.len(), Baggage::MAX_ENTRIES);
    assert_eq!(baggage.get("k179"), Some("v"));
    assert_eq!(baggage.get("k180"), None);
    // A member over 4096 bytes is skipped, the others kept.
    let long = format!("a=1,b={},c=3", "x".repeat(5000));
    let baggage = Baggage::from_header(&long);
    assert_eq!(baggage.iter().collect::<Vec<_>>(), [("a", "1"), ("c", "3")]);
    // Only separators, only junk.
    assert!(Baggage::from_header(&",".repeat(8000)).is_empty());
    assert!(Baggage::from_header(&"=;".repeat(4000)).is_empty());
}

#[test]
fn insert_keeps_the_limits() {
    let mut baggage = Baggage::new();
    for i in 0..Baggage::MAX_ENTRIES {
        baggage.insert(format!("k{i}"), "v").unwrap();
    }
    assert_eq!(baggage.insert("one.more", "v"), Err(BaggageError::TooLarge));
    baggage.insert("k0", "replaced").unwrap();
    assert_eq!(baggage.get("k0"), Some("replaced"));

    let mut baggage = Baggage::new();
    let value = "x".repeat(4000);
    baggage.insert("a", value.clone()).unwrap();
    baggage.insert("b", value.clone()).unwrap();
    assert_eq!(baggage.insert("c", value), Err(BaggageError::TooLarge));
    assert!(baggage.to_header().len() <= Baggage::MAX_BYTES);
    assert_eq!(baggage.insert("", "v"), Err(BaggageError::InvalidKey));
    assert_eq!(baggage.insert("a,b", "v"), Err(BaggageError::InvalidKey));
    assert_eq!(baggage.remove("a").map(|v| v.len()), Some(4000));
    baggage.insert("c", "x".repeat(4000)).unwrap();
    assert!(baggage.to_header().len() <= Baggage::MAX_BYTES);
}
