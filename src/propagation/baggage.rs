//! W3C baggage: application key/value pairs that travel with a trace.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use std::fmt;

/// What a value's percent-encoding escapes: everything but the W3C `baggage-octet`s,
/// and `%` itself. `+` is escaped too: some decoders (Python's `unquote_plus`) read a
/// literal `+` as a space.
const VALUE_ESCAPES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b',')
    .add(b';')
    .add(b'\\')
    .add(b'%')
    .add(b'+');

/// One baggage entry: key, value and its optional properties (`;k=v;flag`, as written).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    key: String,
    value: String,
    properties: Option<String>,
}

impl Entry {
    /// The entry's size in a `baggage` header: `key=encoded-value[;properties]`.
    fn header_bytes(&self) -> usize {
        self.key.len()
            + 1
            + utf8_percent_encode(&self.value, VALUE_ESCAPES)
                .map(str::len)
                .sum::<usize>()
            + self.properties.as_ref().map_or(0, |p| p.len() + 1)
    }
}

/// Why [`Baggage::insert`] refused an entry.
///
/// ```
/// use tracing_observer::context::{Baggage, BaggageError};
/// assert_eq!(Baggage::new().insert("not a token", "v"), Err(BaggageError::InvalidKey));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BaggageError {
    /// The key is empty or not an RFC 9110 token.
    InvalidKey,
    /// The baggage would exceed 180 entries, 8192 header bytes, or 4096 bytes for the entry.
    TooLarge,
}

impl fmt::Display for BaggageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidKey => "a baggage key must be a non-empty token",
            Self::TooLarge => "baggage is limited to 180 entries and 8192 bytes (4096 per entry)",
        })
    }
}

impl std::error::Error for BaggageError {}

/// W3C baggage: key/value pairs an application attaches to a request, propagated to
/// every downstream call (the `baggage` header; `uberctx-*` with Jaeger).
///
/// Bounded by the W3C limits: at most [`MAX_ENTRIES`](Self::MAX_ENTRIES) entries and
/// [`MAX_BYTES`](Self::MAX_BYTES) bytes as a header, 4096 bytes per entry. Incoming
/// headers over the limits are refused whole; entries that are malformed or too large
/// are skipped one by one.
///
/// ```
/// use tracing_observer::context::Baggage;
///
/// let baggage = Baggage::from_header("tenant=acme, region=eu%2Dwest;ttl=60");
/// assert_eq!(baggage.get("tenant"), Some("acme"));
/// assert_eq!(baggage.get("region"), Some("eu-west"));
///
/// let mut outgoing = Baggage::new();
/// outgoing.insert("user.tier", "gold plus").unwrap();
/// assert_eq!(outgoing.to_header(), "user.tier=gold%20plus");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baggage {
    entries: Vec<Entry>,
    /// The size of [`to_header`](Self::to_header), commas included.
    bytes: usize,
}

impl Baggage {
    /// The most entries a baggage holds (the W3C limit).
    pub const MAX_ENTRIES: usize = 180;
    /// The most bytes a `baggage` header holds (the W3C limit).
    pub const MAX_BYTES: usize = 8192;
    /// The most bytes one entry holds in the header.
    const MAX_ENTRY_BYTES: usize = 4096;

    /// An empty baggage.
    ///
    /// ```
    /// assert!(tracing_observer::context::Baggage::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a `baggage` header value (repeated headers joined with commas).
    ///
    /// A header longer than [`MAX_BYTES`](Self::MAX_BYTES) gives an empty baggage;
    /// entries past [`MAX_ENTRIES`](Self::MAX_ENTRIES), longer than 4096 bytes, with a
    /// key that is not a token, a value with characters outside the W3C set, or a
    /// percent-encoding that is not UTF-8 are skipped.
    ///
    /// ```
    /// use tracing_observer::context::Baggage;
    /// let baggage = Baggage::from_header("ok=1,bad key=2,empty=,fine=%E2%9C%93");
    /// assert_eq!(baggage.iter().collect::<Vec<_>>(), [("ok", "1"), ("empty", ""), ("fine", "✓")]);
    /// assert!(Baggage::from_header(&"k=v,".repeat(3000)).is_empty());
    /// ```
    pub fn from_header(header: &str) -> Self {
        let mut baggage = Self::new();
        if header.len() > Self::MAX_BYTES {
            return baggage;
        }
        for member in header.split(',') {
            if baggage.entries.len() >= Self::MAX_ENTRIES {
                break;
            }
            if let Some(entry) = parse_member(member) {
                let _ = baggage.put(entry);
            }
        }
        baggage
    }

    /// The `baggage` header value: `key=percent-encoded-value[;properties],…`.
    ///
    /// ```
    /// use tracing_observer::context::Baggage;
    /// let baggage = Baggage::from_header("a=1;p=x,b=%2C");
    /// assert_eq!(baggage.to_header(), "a=1;p=x,b=%2C");
    /// ```
    pub fn to_header(&self) -> String {
        let mut out = String::with_capacity(self.bytes);
        for entry in &self.entries {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(&entry.key);
            out.push('=');
            out.extend(utf8_percent_encode(&entry.value, VALUE_ESCAPES));
            if let Some(properties) = &entry.properties {
                out.push(';');
                out.push_str(properties);
            }
        }
        out
    }

    /// The value of `key`.
    ///
    /// ```
    /// use tracing_observer::context::Baggage;
    /// assert_eq!(Baggage::from_header("tenant=acme").get("tenant"), Some("acme"));
    /// ```
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }

    /// Sets `key` to `value` (replacing an earlier value), within the limits.
    ///
    /// ```
    /// use tracing_observer::context::{Baggage, BaggageError};
    /// let mut baggage = Baggage::new();
    /// baggage.insert("tenant", "acme").unwrap();
    /// assert_eq!(baggage.insert("big", "x".repeat(5000)), Err(BaggageError::TooLarge));
    /// assert_eq!(baggage.len(), 1);
    /// ```
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<(), BaggageError> {
        let key = key.into();
        if !is_token(&key) {
            return Err(BaggageError::InvalidKey);
        }
        self.put(Entry {
            key,
            value: value.into(),
            properties: None,
        })
    }

    /// Removes `key`, returning its value.
    ///
    /// ```
    /// use tracing_observer::context::Baggage;
    /// let mut baggage = Baggage::from_header("a=1,b=2");
    /// assert_eq!(baggage.remove("a").as_deref(), Some("1"));
    /// assert_eq!(baggage.to_header(), "b=2");
    /// ```
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.entries.iter().position(|e| e.key == key)?;
        let entry = self.entries.remove(i);
        let comma = usize::from(!self.entries.is_empty());
        self.bytes -= entry.header_bytes() + comma;
        Some(entry.value)
    }

    /// The entries, in order, as `(key, value)`.
    ///
    /// ```
    /// use tracing_observer::context::Baggage;
    /// let baggage = Baggage::from_header("a=1,b=2");
    /// let keys: Vec<&str> = baggage.iter().map(|(k, _)| k).collect();
    /// assert_eq!(keys, ["a", "b"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
    }

    /// The number of entries.
    ///
    /// ```
    /// assert_eq!(tracing_observer::context::Baggage::from_header("a=1").len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no entry.
    ///
    /// ```
    /// assert!(tracing_observer::context::Baggage::from_header("").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, in order, as `(key, value, properties)`.
    #[cfg(feature = "opentelemetry")]
    pub(crate) fn iter_with_properties(&self) -> impl Iterator<Item = (&str, &str, Option<&str>)> {
        self.entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.properties.as_deref()))
    }

    /// [`insert`](Self::insert) with the entry's properties (`k=v;flag`, as a
    /// `baggage` header writes them after the value); malformed properties are refused
    /// as an invalid key is.
    #[cfg(feature = "opentelemetry")]
    pub(crate) fn insert_with_properties(
        &mut self,
        key: &str,
        value: &str,
        properties: Option<&str>,
    ) -> Result<(), BaggageError> {
        let properties = properties
            .map(|p| p.trim_matches(is_ows))
            .filter(|p| !p.is_empty());
        if !is_token(key) || properties.is_some_and(|p| !valid_properties(p)) {
            return Err(BaggageError::InvalidKey);
        }
        self.put(Entry {
            key: key.to_owned(),
            value: value.to_owned(),
            properties: properties.map(str::to_owned),
        })
    }

    /// Adds `other`'s entries (its values win), as far as the limits allow.
    pub(crate) fn merge(&mut self, other: Baggage) {
        for entry in other.entries {
            let _ = self.put(entry);
        }
    }

    /// Stores a valid entry, replacing one of the same key, within the limits.
    fn put(&mut self, entry: Entry) -> Result<(), BaggageError> {
        let size = entry.header_bytes();
        let old = self.entries.iter().position(|e| e.key == entry.key);
        let (entries, bytes) = match old {
            Some(i) => (
                self.entries.len(),
                self.bytes - self.entries[i].header_bytes() + size,
            ),
            None => (
                self.entries.len() + 1,
                self.bytes + usize::from(!self.entries.is_empty()) + size,
            ),
        };
        if size > Self::MAX_ENTRY_BYTES || entries > Self::MAX_ENTRIES || bytes > Self::MAX_BYTES {
            return Err(BaggageError::TooLarge);
        }
        match old {
            Some(i) => self.entries[i] = entry,
            None => self.entries.push(entry),
        }
        self.bytes = bytes;
        Ok(())
    }
}

/// One `key=value[;properties]` list member, or `None` when it is malformed.
fn parse_member(member: &str) -> Option<Entry> {
    let member = member.trim_matches(is_ows);
    if member.is_empty() || member.len() > Baggage::MAX_ENTRY_BYTES {
        return None;
    }
    let (pair, properties) = match member.split_once(';') {
        Some((pair, properties)) => (pair, Some(properties.trim_matches(is_ows))),
        None => (member, None),
    };
    let (key, value) = pair.split_once('=')?;
    let (key, value) = (key.trim_matches(is_ows), value.trim_matches(is_ows));
    if !is_token(key) || !value.bytes().all(is_baggage_octet) {
        return None;
    }
    let properties = match properties {
        Some(p) if !p.is_empty() => {
            if !valid_properties(p) {
                return None;
            }
            Some(p.to_owned())
        }
        _ => None,
    };
    let value = percent_decode_str(value).decode_utf8().ok()?.into_owned();
    Some(Entry {
        key: key.to_owned(),
        value,
        properties,
    })
}

/// Whether `properties` (`;`-separated, without the leading one) are W3C properties.
fn valid_properties(properties: &str) -> bool {
    properties.split(';').all(|property| {
        let (name, value) = property.split_once('=').unwrap_or((property, ""));
        is_token(name.trim_matches(is_ows))
            && value.trim_matches(is_ows).bytes().all(is_baggage_octet)
    })
}

fn is_ows(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// An RFC 9110 token: visible ASCII but for delimiters.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A W3C `baggage-octet`: visible ASCII but for `"`, `,`, `;` and `\`.
fn is_baggage_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e)
}
