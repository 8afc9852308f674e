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
        let count = pools.len();
        let fields = pools.iter().map(|pool| &pool.field);
        let indices = 0..pools.len();
        // One function pointer per pool: its `Pool<C, S>` is named here and nowhere else in
        // `start`, so the body stays one await and one line per pool (see
        // `pool_runtime::declared::start_all`).
        let prepare = pools.iter().map(|pool| {
            let c = cx.connector(pool.ty);
            let s = quote::format_ident!("{}", pool.ty.strategy.type_name());
            quote!(#p::prepare::<#c, #p::#s>)
        });
        let start_all = quote!(#p::start_all(__specs, &self.__overrides, &__PREPARE).await?);
        let started = if pools.is_empty() {
            quote!(#start_all;)
        } else {
            quote!(let mut __started = #start_all;)
        };
        (
            quote!(__overrides: #p::Overrides,),
            quote! {
                self.__overrides.set(pool, key, value);
                self
            },
            quote! {
                static __PREPARE: [#p::Prepare; #count] = [#(#prepare),*];
                let __specs = #name::__specs();
                self.__overrides.check(__specs)?;
                #started
                #p::core::result::Result::Ok(#name { #(#fields: __started.take(#indices)),* })
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

            /// Starts every declared pool: every value is read and checked first, then the
            /// pools connect concurrently, at most `CONNECTING_AT_ONCE` (64) connections
            /// being opened at a time (`pool_runtime::declared::start_all`).
            ///
            /// # Errors
            ///
            /// An override naming an unknown pool or key; the first pool, in declaration
            /// order, with a missing environment variable, a bad value or a connector that is
            /// not available, before anything connects; else the first pool that cannot start
            /// (no worker connecting), once the pools already started are shut down.
            pub async fn start(self) -> #start_result {
                #start
            }
        }
    }
}
