//! The connectors: one module per backend, each behind a cargo feature named after it.

pub mod generic;
