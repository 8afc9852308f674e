//! The item under the attribute: `[attrs] [vis] struct Name;`.

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned as _;
use syn::{Attribute, Fields, Ident, Item, Visibility};

/// What the generated code keeps of the user's struct.
pub(crate) struct UnitStruct {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
}

/// How the item was read.
pub(crate) enum ItemRead {
    /// A unit struct, as expected.
    Unit(UnitStruct),
    /// A struct with fields or generics: an error, but its name and visibility still make a
    /// stub expansion, so code using it keeps compiling.
    Struct(UnitStruct, syn::Error),
    /// Anything else: an error, and the item's tokens, emitted unchanged.
    Other(syn::Error, TokenStream),
}

const EXPECTED: &str = "`#[outgoing_pools]` goes on a unit struct, such as `pub struct Pools;`";

pub(crate) fn read(item: TokenStream) -> ItemRead {
    let parsed = match syn::parse2::<Item>(item.clone()) {
        Ok(parsed) => parsed,
        Err(error) => return ItemRead::Other(syn::Error::new(error.span(), EXPECTED), item),
    };
    let s = match parsed {
        Item::Struct(s) => s,
        other => {
            return ItemRead::Other(syn::Error::new(keyword_span(&other), EXPECTED), item);
        }
    };
    let mut error: Option<syn::Error> = None;
    let mut report = |e: syn::Error| match &mut error {
        Some(first) => first.combine(e),
        None => error = Some(e),
    };
    if !s.generics.params.is_empty() || s.generics.where_clause.is_some() {
        report(syn::Error::new_spanned(
            &s.generics,
            "the pools struct takes no generic parameters",
        ));
    }
    match &s.fields {
        Fields::Unit => {}
        fields => report(syn::Error::new(
            fields.span(),
            "expected a unit struct (`struct Pools;`): `#[outgoing_pools]` generates the fields",
        )),
    }
    let unit = UnitStruct {
        attrs: s.attrs,
        vis: s.vis,
        ident: s.ident,
    };
    match error {
        None => ItemRead::Unit(unit),
        Some(error) => ItemRead::Struct(unit, error),
    }
}

/// The keyword that says what the item is (`enum`, `fn`, ...), where the error points.
fn keyword_span(item: &Item) -> Span {
    match item {
        Item::Enum(i) => i.enum_token.span,
        Item::Fn(i) => i.sig.fn_token.span,
        Item::Union(i) => i.union_token.span,
        Item::Trait(i) => i.trait_token.span,
        Item::Impl(i) => i.impl_token.span,
        Item::Mod(i) => i.mod_token.span,
        Item::Type(i) => i.type_token.span,
        Item::Const(i) => i.const_token.span,
        Item::Static(i) => i.static_token.span,
        Item::Use(i) => i.use_token.span,
        other => other.span(),
    }
}
