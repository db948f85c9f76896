//! PLACEHOLDER — being written (helper). Not to be merged as is.

use super::{Limits, MonitorError, Snapshot};

pub(super) async fn read(
    _source: &impl std::fmt::Debug,
    _limits: Limits,
) -> Result<Snapshot, MonitorError> {
    Err(MonitorError::Unreachable {
        what: "livestatus".into(),
        reason: "not built yet".into(),
    })
}
