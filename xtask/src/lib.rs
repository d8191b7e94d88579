//! krcu's developer commands as a library, so that its tests run them:
//! the header generator and the repository's source checks.

pub mod check;
pub mod header;
