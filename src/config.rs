//! Configuration: owned by the config work (see issue 2).
