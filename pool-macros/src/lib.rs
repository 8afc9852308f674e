//! The `#[outgoing_pools]` attribute.
