//! Facade.
pub use pool_runtime::*;
