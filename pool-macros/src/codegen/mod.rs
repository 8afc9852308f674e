//! Code generation from the [`Model`]: the struct, `Host`, the `impl`, the builder, and the
//! accessors.
//!
//! Every path goes through `#krate::__private` (`::outgoing_pools` unless `crate = path`),
//! including `core` and `std`, and generated locals start with `__`, so user items named
//! `Result`, `Option`, `Box`, ... cannot change what the expansion means.
//!
//! With `stub` set (the declaration had errors) the same items are generated with
//! `unreachable!()` bodies: the `compile_error!`s beside them are then the only errors.

mod accessor;
mod builder;
mod host;
mod spec;

use std::fmt::Write as _;

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use crate::item::UnitStruct;
use crate::model::{Model, PoolTy};

/// Everything the generators share.
pub(crate) struct Cx<'a> {
    /// `#krate::__private`.
    pub p: TokenStream,
    pub item: &'a UnitStruct,
    pub model: &'a Model,
    pub stub: bool,
    /// `<Name>Builder`.
    pub builder: Ident,
}

impl Cx<'_> {
    /// `Pool<C, S>`.
    pub fn pool_ty(&self, ty: PoolTy) -> TokenStream {
        let p = &self.p;
        let c = self.connector(ty);
        let s = format_ident!("{}", ty.strategy.type_name());
        quote!(#p::Pool<#c, #p::#s>)
    }

    /// The connector type `C`.
    pub fn connector(&self, ty: PoolTy) -> TokenStream {
        let p = &self.p;
        let c = format_ident!("{}", ty.connector.type_name());
        quote!(#p::#c)
    }

    /// `Error<C::Error>`, what a pool's calls fail with.
    pub fn error_ty(&self, ty: PoolTy) -> TokenStream {
        let p = &self.p;
        let c = self.connector(ty);
        quote!(#p::Error<<#c as #p::ManageConnection>::Error>)
    }

    /// `Result<T, E>`.
    pub fn result(&self, ok: &TokenStream, err: &TokenStream) -> TokenStream {
        let p = &self.p;
        quote!(#p::core::result::Result<#ok, #err>)
    }

    /// The body of a generated function in a stub expansion.
    pub fn unreachable(&self) -> TokenStream {
        let p = &self.p;
        quote!(#p::core::unreachable!())
    }

    /// Lints to silence on every generated item, each for a reason the user cannot act on.
    pub fn allows(&self) -> TokenStream {
        let stub = if self.stub {
            quote! {
                #[allow(
                    unused_variables,
                    unused_mut,
                    clippy::unused_async,
                    clippy::unused_self,
                    reason = "a stub expansion beside the declaration's errors"
                )]
            }
        } else {
            TokenStream::new()
        };
        quote! {
            #[allow(
                dead_code,
                reason = "every declared pool gets its accessors and methods, used or not"
            )]
            #stub
        }
    }
}

pub(crate) fn generate(cx: &Cx<'_>) -> TokenStream {
    let strukt = pools_struct(cx);
    let host = host::generate(cx);
    let methods = pools_impl(cx);
    let builder = builder::generate(cx);
    let enums = accessor::enums(cx);
    let gates = feature_gates(cx);
    quote! {
        #gates
        #strukt
        #host
        #methods
        #builder
        #enums
    }
}

/// A compile error at the declaration for each connector whose cargo feature is off (the
/// runtime's `__connector_*` macros decide, as only it knows its features).
fn feature_gates(cx: &Cx<'_>) -> TokenStream {
    let p = &cx.p;
    cx.model
        .gates
        .iter()
        .map(|gate| {
            let check = format_ident!("__connector_{}", gate.connector.name(), span = gate.span);
            let (at, pool) = (&gate.at, &gate.pool);
            // The whole invocation carries the span, so the error points at the driver.
            let p = respan(p.clone(), gate.span);
            quote::quote_spanned!(gate.span=> #p::#check!(#at, #pool);)
        })
        .collect()
}

/// `tokens` with every span set to `span`.
fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tt = proc_macro2::TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

/// The user's struct, with one private field per planned pool.
fn pools_struct(cx: &Cx<'_>) -> TokenStream {
    let UnitStruct { attrs, vis, ident } = cx.item;
    let fields = if cx.stub {
        Vec::new()
    } else {
        cx.model
            .pools
            .iter()
            .map(|pool| {
                let field = &pool.field;
                let ty = cx.pool_ty(pool.ty);
                quote!(#field: #ty,)
            })
            .collect()
    };
    let mut doc = String::from(
        "\n# Declared pools\n\nGenerated by `#[outgoing_pools]`; started by `start()`.\n",
    );
    if cx.model.pools.is_empty() {
        doc.push_str("\nNone.\n");
    } else {
        doc.push_str("\n| pool | connector | strategy | workers |\n| --- | --- | --- | --- |\n");
        for pool in &cx.model.pools {
            let _ = writeln!(
                doc,
                "| `{}` | `{}` | `{}` | {} |",
                pool.name,
                pool.ty.connector.type_name(),
                pool.ty.strategy,
                pool.planned.workers
            );
        }
    }
    let doc = doc_lines(&doc);
    let allows = cx.allows();
    quote! {
        #(#attrs)*
        #doc
        #allows
        #vis struct #ident {
            #(#fields)*
        }
    }
}

/// `start`, `builder`, `plan`, `status`, `shutdown` and the accessors.
fn pools_impl(cx: &Cx<'_>) -> TokenStream {
    let p = &cx.p;
    let name = &cx.item.ident;
    let builder = &cx.builder;
    let allows = cx.allows();
    let model = cx.model;
    let start_result = cx.result(&quote!(Self), &quote!(#p::StartError));
    let grace = Literal::u64_unsuffixed(model.grace_ms);
    let accessors = accessor::methods(cx);

    let (start, builder_fn, plan, specs, status, shutdown, shutdown_within) = if cx.stub {
        let u = cx.unreachable();
        (
            u.clone(),
            u.clone(),
            u.clone(),
            TokenStream::new(),
            u.clone(),
            u.clone(),
            u,
        )
    } else {
        let count = model.pools.len();
        let specs = model.pools.iter().map(|pool| spec::pool_spec(cx, pool));
        let fields = model.pools.iter().map(|pool| &pool.field);
        (
            quote!(Self::builder().start().await),
            quote!(#builder { __overrides: #p::core::default::Default::default() }),
            quote!(#p::Plan(Self::__specs())),
            quote! {
                /// The static description of every planned pool, in field order.
                fn __specs() -> &'static [#p::PoolSpec; #count] {
                    static __SPECS: [#p::PoolSpec; #count] = [#(#specs),*];
                    &__SPECS
                }

                /// Every pool, in field order, for what is done to all of them at once.
                fn __all(&self) -> [&dyn #p::AnyPool; #count] {
                    [#(&self.#fields),*]
                }
            },
            quote!(#p::StatusTable::of(Self::__specs(), &self.__all())),
            quote!(self.shutdown_within(#p::core::time::Duration::from_millis(#grace)).await),
            quote!(#p::shutdown_all(&self.__all(), grace).await;),
        )
    };

    let grace_doc = format!(
        "Waits at most {} ms for calls in flight (the largest `call_timeout`, capped at 30 s).",
        model.grace_ms
    );
    quote! {
        #allows
        impl #name {
            /// Starts every declared pool, reading `env(...)` values and the
            /// `OUTGOING_POOLS__<TYPE>__<HOST>__<TAG>__<KEY>` overrides now: every value is
            /// checked first, then the pools connect concurrently, at most 64 connections
            /// being opened at a time.
            ///
            /// # Errors
            ///
            /// The first pool, in declaration order, with a missing environment variable, a
            /// bad value or a connector that is not available, before anything connects; else
            /// the first pool that cannot start (no worker connecting), once the pools already
            /// started are shut down.
            pub async fn start() -> #start_result {
                #start
            }

            /// A builder to override connection values before starting, e.g.
            /// `.set("rdbms.global.default", "password", secret)`.
            #[must_use]
            pub fn builder() -> #builder {
                #builder_fn
            }

            /// Every planned pool (hosts expanded, defaults resolved), without starting
            /// anything; displays as a table with secrets redacted.
            #[must_use]
            pub fn plan() -> #p::Plan {
                #plan
            }

            #specs

            /// The status of every pool, by pool name; displays as a table.
            #[must_use]
            pub fn status(&self) -> #p::StatusTable {
                #status
            }

            /// Stops every pool: new calls fail, calls in flight may finish.
            #[doc = #grace_doc]
            pub async fn shutdown(self) {
                #shutdown
            }

            /// Stops every pool at once: new calls fail, calls in flight may finish within
            /// `grace`, then every connection is closed.
            pub async fn shutdown_within(self, grace: #p::core::time::Duration) {
                #shutdown_within
            }

            #accessors
        }
    }
}

/// `#[doc = "..."]` for each line of `text`.
pub(crate) fn doc_lines(text: &str) -> TokenStream {
    let lines = text.lines().map(|line| {
        let line = if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        };
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}
