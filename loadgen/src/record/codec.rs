//! Histograms as text: HDR V2 deflate, base64 (what `shard.json` holds).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

/// The largest value a histogram holds: an hour, in µs.
pub const MAX_MICROS: u64 = 3_600_000_000;

/// An empty histogram of µs from 1 to an hour, three significant digits.
pub fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid HDR bounds")
}

/// `h` as V2 deflate in base64.
pub fn encode(h: &Histogram<u64>) -> String {
    let mut buf = Vec::new();
    let _ = V2DeflateSerializer::new().serialize(h, &mut buf);
    STANDARD.encode(buf)
}

/// A histogram written by [`encode`]; an unreadable one is empty.
///
/// ```
/// use loadgen::record::codec::{decode, encode, new_hist};
/// let mut h = new_hist();
/// h.record(1500).unwrap();
/// assert_eq!(decode(&encode(&h)).len(), 1);
/// assert!(decode("not base64!").is_empty());
/// ```
pub fn decode(s: &str) -> Histogram<u64> {
    STANDARD
        .decode(s)
        .ok()
        .and_then(|bytes| Deserializer::new().deserialize(&mut bytes.as_slice()).ok())
        .unwrap_or_else(new_hist)
}

/// `pos` and the negated values of `neg` moved by `shift_us`: the fan-out delays of a shard once
/// its clock offset is known. Values that land below 1 µs are kept at 1 µs; those below
/// `-tolerance_us` are counted (the second number): deliveries that came before their server
/// time by more than the stamps' resolution and the offset's error explain.
///
/// ```
/// use loadgen::record::codec::{new_hist, shifted};
/// let (mut pos, mut neg) = (new_hist(), new_hist());
/// pos.record(5_000).unwrap(); // 5 ms after its server time
/// neg.record(240_000).unwrap(); // 240 ms before it
/// let (h, below) = shifted(&pos, Some(&neg), 250_000, 1_000); // the server's clock is 250 ms ahead
/// assert!((9_900..=10_100).contains(&h.min()), "10 ms: {}", h.min());
/// assert!((254_800..=255_200).contains(&h.max()), "255 ms: {}", h.max());
/// assert_eq!(below, 0);
/// ```
pub fn shifted(
    pos: &Histogram<u64>,
    neg: Option<&Histogram<u64>>,
    shift_us: i64,
    tolerance_us: i64,
) -> (Histogram<u64>, u64) {
    let mut out = new_hist();
    let mut below = 0;
    let mut put = |v: i64, n: u64| {
        if v < -tolerance_us {
            below += n;
        }
        let _ = out.record_n(v.clamp(1, MAX_MICROS as i64) as u64, n);
    };
    for v in pos.iter_recorded() {
        put(
            pos.median_equivalent(v.value_iterated_to()) as i64 + shift_us,
            v.count_at_value(),
        );
    }
    for v in neg
        .into_iter()
        .flat_map(|h| h.iter_recorded().map(move |v| (h, v)))
    {
        let (h, v) = v;
        put(
            shift_us - h.median_equivalent(v.value_iterated_to()) as i64,
            v.count_at_value(),
        );
    }
    (out, below)
}
