//! The clock: "now" for new events, and dates written into GLPI in the
//! system's time zone. Injected into the engine (and used by `render` and
//! the mail) so that time is read in one place. No order depends on it: the
//! order of events the engine does not number comes from this host's
//! monotonic clock ([`process_start`], [`host_now`]).

use crate::core::HostStamp;

/// The wall clock and the local time zone.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    zone: jiff::tz::TimeZone,
    /// Added to the system's time: zero, but for the tests that step the
    /// clock (`ESIA_GLPI_CLOCK_SKEW_SECS`, a hidden test hook: it moves the
    /// dates written in tickets and nothing else, since no order depends on
    /// the wall clock).
    skew: jiff::SignedDuration,
}

/// The test hook that steps this run's wall clock, in seconds.
const SKEW_VARIABLE: &str = "ESIA_GLPI_CLOCK_SKEW_SECS";

impl Clock {
    /// The system's clock and time zone.
    pub(crate) fn system() -> Clock {
        let skew = std::env::var(SKEW_VARIABLE)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .map_or(jiff::SignedDuration::ZERO, jiff::SignedDuration::from_secs);
        Clock {
            zone: local_zone(),
            skew,
        }
    }

    /// The current time.
    pub(crate) fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
            .checked_add(self.skew)
            .unwrap_or_else(|_| jiff::Timestamp::now())
    }

    /// "YYYY-MM-DD HH:MM:SS" in the system time zone, for texts written in GLPI.
    pub(crate) fn date(&self, time: jiff::Timestamp) -> String {
        time.to_zoned(self.zone.clone())
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string()
    }
}

/// When this process was started, on this host's monotonic clock: the
/// moment it was forked (the kernel keeps it in clock ticks, 10 ms) or the
/// moment this function ran, whichever is earlier. Called first thing in a
/// run, it puts two runs started a few milliseconds apart in the order they
/// were started even when the later one gets to the spool first. `None`
/// without `/proc` (the arrival order is then the order).
pub(crate) fn process_start() -> Option<HostStamp> {
    let now = host_now()?;
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| start_ticks(&stat));
    let per_tick = 1_000_000_000 / rustix::param::clock_ticks_per_second().max(1);
    let forked_by = ticks.map_or(u64::MAX, |t| {
        t.saturating_add(1)
            .saturating_mul(per_tick)
            .saturating_sub(1)
    });
    Some(HostStamp {
        ns: now.ns.min(forked_by),
        ..now
    })
}

/// Now, on this host's monotonic clock (which also counts a suspend).
pub(crate) fn host_now() -> Option<HostStamp> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    Some(HostStamp {
        boot: boot.trim().to_string(),
        ns: u64::try_from(t.tv_sec)
            .ok()?
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::try_from(t.tv_nsec).ok()?),
    })
}

/// The start time field of `/proc/self/stat` (the 22nd; the command name,
/// the 2nd, is in parentheses and may hold spaces or parentheses).
fn start_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// The system's time zone. Without `TZ`, `/etc/localtime` is read directly:
/// jiff's `TimeZone::system()` first lists the whole zoneinfo database
/// (some 45 directory reads, ~5 % of a run's CPU) to resolve the name the
/// link points to, which a date written into a ticket does not need.
fn local_zone() -> jiff::tz::TimeZone {
    const LOCALTIME: &str = "/etc/localtime";
    if std::env::var_os("TZ").is_none()
        && let Ok(bytes) = std::fs::read(LOCALTIME)
        && let Ok(tz) = jiff::tz::TimeZone::tzif("localtime", &bytes)
    {
        return tz;
    }
    jiff::tz::TimeZone::system()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_time_is_read_past_an_odd_command_name() {
        let stat = "4242 (a) b (c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 123456 99 1";
        assert_eq!(start_ticks(stat), Some(123_456));
        assert_eq!(start_ticks("garbage"), None);
    }

    #[test]
    fn a_process_started_before_now() {
        let started = process_start().expect("Linux has /proc");
        let now = host_now().expect("Linux has /proc");
        assert!(now.since(&started).is_some());
        assert!(started.ns <= now.ns);
    }

    #[test]
    fn the_local_zone_agrees_with_jiffs_system_zone() {
        let system = jiff::tz::TimeZone::system();
        let ours = local_zone();
        // Winter, summer, and around a European DST change.
        for secs in [1_700_000_000, 1_720_000_000, 1_711_846_800, 1_711_850_400] {
            let t = jiff::Timestamp::from_second(secs).expect("in range");
            assert_eq!(ours.to_offset(t), system.to_offset(t), "at {t}");
        }
    }
}
