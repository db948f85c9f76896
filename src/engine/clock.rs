//! The clock: "now" for new events, and dates written into GLPI in the
//! system's time zone. Injected into the engine (and used by `render` and
//! the mail) so that time is read in one place. No order depends on it.

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
