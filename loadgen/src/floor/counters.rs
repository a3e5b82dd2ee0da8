//! The two counters a floor run reads: its own CPU time, and the machine's TCP segments.

use std::io;

use super::{FloorError, io_error};

/// CPU time of this process so far, user and system, in microseconds.
pub(super) fn cpu_us() -> Result<(u64, u64), FloorError> {
    // SAFETY: getrusage only writes the struct it is given, a plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Err(io_error("getrusage")(io::Error::last_os_error()));
    }
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Ok((us(usage.ru_utime), us(usage.ru_stime)))
}

/// CPU time spent between two readings of [`cpu_us`].
pub(super) fn cpu_between(before: (u64, u64), after: (u64, u64)) -> (u64, u64) {
    (
        after.0.saturating_sub(before.0),
        after.1.saturating_sub(before.1),
    )
}

/// TCP segments received and sent (`InSegs` + `OutSegs`) in the text of `/proc/net/snmp`.
pub(super) fn tcp_segments_in(snmp: &str) -> Result<u64, FloorError> {
    let mut tcp = snmp.lines().filter(|l| l.starts_with("Tcp:"));
    let (Some(names), Some(values)) = (tcp.next(), tcp.next()) else {
        return Err(FloorError::Counters(
            "/proc/net/snmp has no Tcp lines".into(),
        ));
    };
    let field = |name: &str| {
        let at = names.split_whitespace().position(|n| n == name);
        let value = at.and_then(|i| values.split_whitespace().nth(i));
        value
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| FloorError::Counters(format!("no Tcp {name} in /proc/net/snmp")))
    };
    Ok(field("InSegs")? + field("OutSegs")?)
}

/// Segments between two readings of the counters, each counted once: on loopback every segment
/// is counted when sent and again when received.
pub(super) fn segments_between(before: u64, after: u64) -> u64 {
    after.saturating_sub(before) / 2
}

/// The machine's TCP segments received and sent so far.
pub(super) fn tcp_segments() -> Result<u64, FloorError> {
    let snmp =
        std::fs::read_to_string("/proc/net/snmp").map_err(io_error("reading /proc/net/snmp"))?;
    tcp_segments_in(&snmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNMP: &str = "Ip: Forwarding DefaultTTL\nIp: 1 64\n\
        Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n\
        Tcp: 1 200 120000 -1 10 12 0 0 3 4000 3500 7 0 1 0\n\
        Udp: InDatagrams\nUdp: 5\n";

    #[test]
    fn segments_are_in_and_out_from_the_tcp_lines() {
        assert_eq!(tcp_segments_in(SNMP).unwrap(), 7500);
        assert_eq!(
            segments_between(7500, 9500),
            1000,
            "loopback counts a segment twice"
        );
        assert_eq!(
            segments_between(7500, 7000),
            0,
            "counters that went back count nothing"
        );
        let no_out = SNMP.replace("OutSegs", "OutSegments");
        let err = tcp_segments_in(&no_out).unwrap_err().to_string();
        assert!(err.contains("no Tcp OutSegs"), "{err}");
        let err = tcp_segments_in("Ip: 1\n").unwrap_err().to_string();
        assert!(err.contains("no Tcp lines"), "{err}");
    }
}
