//! Templates: owned by the template work (see issue 2).
