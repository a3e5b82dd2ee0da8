//! One HDR interval log per metric (`<metric>.hlog`, V2 deflate, one-second intervals): what
//! HdrHistogram's own tools plot and compare.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder;

use crate::record::Snapshot;
use crate::record::codec::decode;

/// Writes `<metric>.hlog` into `dir` for every metric of `snap`.
pub fn write(dir: &Path, snap: &Snapshot) -> anyhow::Result<()> {
    for (name, intervals) in &snap.intervals {
        let mut out = Vec::new();
        {
            let mut ser = V2DeflateSerializer::new();
            let start = intervals.first().map_or(0, |i| i.0);
            let mut log = IntervalLogWriterBuilder::new()
                .add_comment(&format!("loadgen metric {name}, microseconds"))
                .with_start_time(UNIX_EPOCH + Duration::from_secs(start.max(0) as u64))
                .with_base_time(UNIX_EPOCH)
                .begin_log_with(&mut out, &mut ser)?;
            for (sec, h) in intervals {
                log.write_histogram(
                    &decode(h),
                    Duration::from_secs(sec.max(&0).unsigned_abs()),
                    Duration::from_secs(1),
                    None,
                )?;
            }
        }
        std::fs::write(dir.join(format!("{name}.hlog")), out)?;
    }
    Ok(())
}
