//! `<Name>Builder`: overrides of connection values, then `start()`.

use proc_macro2::TokenStream;
use quote::quote;

use super::Cx;

pub(super) fn generate(cx: &Cx<'_>) -> TokenStream {
    let p = &cx.p;
    let vis = &cx.item.vis;
    let name = &cx.item.ident;
    let builder = &cx.builder;
    let allows = cx.allows();
    let string = quote!(#p::std::string::String);
    let str_ty = quote!(#p::core::primitive::str);
    let start_result = cx.result(&quote!(#name), &quote!(#p::StartError));

    let (fields, set, start) = if cx.stub {
        let u = cx.unreachable();
        (TokenStream::new(), u.clone(), u)
    } else {
        let pools = &cx.model.pools;
        let fields: Vec<_> = pools.iter().map(|pool| &pool.field).collect();
        let indices = 0..pools.len();
        let connectors = pools.iter().map(|pool| cx.connector(pool.ty));
        let strategies = pools.iter().map(|pool| {
            let s = quote::format_ident!("{}", pool.ty.strategy.type_name());
            quote!(#p::#s)
        });
        (
            quote!(__overrides: #p::Overrides,),
            quote! {
                self.__overrides.set(pool, key, value);
                self
            },
            quote! {
                let __specs = #name::__specs();
                self.__overrides.check(__specs)?;
                #(
                    let #fields = #p::start_pool::<#connectors, #strategies>(
                        &__specs[#indices],
                        &self.__overrides,
                    )
                    .await?;
                )*
                #p::core::result::Result::Ok(#name { #(#fields),* })
            },
        )
    };

    let doc = format!(
        "Starts the pools of [`{name}`] with connection values overridden at start \
         (from `{name}::builder()`).\n\nAn override wins over the \
         `OUTGOING_POOLS__<TYPE>__<HOST>__<TAG>__<KEY>` environment variable, which wins over \
         the declaration's `env(...)` and literal values."
    );
    quote! {
        #[doc = #doc]
        #[derive(#p::core::clone::Clone, #p::core::fmt::Debug)]
        #[must_use = "nothing starts until `start()` is awaited"]
        #vis struct #builder {
            #fields
        }

        #allows
        impl #builder {
            /// Overrides the connection value `key` of the pool named `pool`, as in `plan()`
            /// (`"rdbms.global.default"`, `"redis.a.com.default"`); TLS keys are `tls.<key>`.
            /// `start()` fails with `StartError::UnknownOverride` if no such pool or key exists.
            pub fn set(
                mut self,
                pool: &#str_ty,
                key: &#str_ty,
                value: impl #p::core::convert::Into<#string>,
            ) -> Self {
                #set
            }

            /// Starts every declared pool, one after the other.
            ///
            /// # Errors
            ///
            /// An override naming an unknown pool or key, or the first pool that cannot start
            /// (a missing environment variable, a bad value, a connector that is not available,
            /// no worker connecting); the pools started before it are dropped.
            pub async fn start(self) -> #start_result {
                #start
            }
        }
    }
}
