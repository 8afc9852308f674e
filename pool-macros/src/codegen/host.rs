//! `enum Host`: one variant per declared host.

use proc_macro2::TokenStream;
use quote::quote;

use super::Cx;

pub(super) fn generate(cx: &Cx<'_>) -> TokenStream {
    let hosts = &cx.model.hosts;
    if hosts.is_empty() {
        return TokenStream::new();
    }
    let p = &cx.p;
    let vis = &cx.item.vis;
    let pools = &cx.item.ident;
    let count = hosts.len();
    let variants: Vec<_> = hosts.iter().map(|h| &h.variant).collect();
    let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    let variant_docs = names.iter().map(|name| format!("`{name}`."));
    let str_ty = quote!(#p::core::primitive::str);
    let doc = format!(
        "The hosts declared for [`{pools}`] (always named `Host`, whatever the struct's \
         name): `{}`.\n\nParse one with `str::parse` (an unknown host is an `UnknownHost` \
         error, never a panic); `Display` and `as_str` give the name back.",
        names.join("`, `")
    );
    let allows = cx.allows();
    quote! {
        #[doc = #doc]
        #[derive(
            #p::core::clone::Clone,
            #p::core::marker::Copy,
            #p::core::fmt::Debug,
            #p::core::cmp::PartialEq,
            #p::core::cmp::Eq,
            #p::core::hash::Hash,
            #p::core::cmp::PartialOrd,
            #p::core::cmp::Ord
        )]
        #vis enum Host {
            #(
                #[doc = #variant_docs]
                #variants,
            )*
        }

        #allows
        impl Host {
            /// Every declared host, in declaration order.
            pub const ALL: [Self; #count] = [#(Self::#variants),*];

            /// The host's name, as declared.
            #[must_use]
            pub const fn as_str(self) -> &'static #str_ty {
                match self {
                    #(Self::#variants => #names,)*
                }
            }
        }

        impl #p::core::str::FromStr for Host {
            type Err = #p::UnknownHost;

            fn from_str(__name: &#str_ty) -> #p::core::result::Result<Self, Self::Err> {
                match __name {
                    #(#names => #p::core::result::Result::Ok(Self::#variants),)*
                    _ => #p::core::result::Result::Err(#p::UnknownHost {
                        host: #p::std::string::String::from(__name),
                        known: &[#(#names),*],
                    }),
                }
            }
        }

        impl #p::core::fmt::Display for Host {
            fn fmt(&self, __f: &mut #p::core::fmt::Formatter<'_>) -> #p::core::fmt::Result {
                __f.write_str(self.as_str())
            }
        }
    }
}
