//! The `#[outgoing_pools]` attribute: a thin shell over `pool-spec`.

use proc_macro::TokenStream;

/// Declares an application's outgoing pools; see the `outgoing-pools` crate.
#[proc_macro_attribute]
pub fn outgoing_pools(args: TokenStream, item: TokenStream) -> TokenStream {
    let _ = args;
    item
}
