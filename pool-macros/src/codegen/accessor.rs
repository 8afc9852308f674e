//! One accessor per (type, tag), and the enum of references for a group whose pools differ in
//! connector or strategy.

use std::fmt::Write as _;

use pool_spec::{ConnectorKind, Strategy};
use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::Cx;
use crate::model::{Access, Group, PoolTy};

/// The accessor methods, inside `impl Pools`.
pub(super) fn methods(cx: &Cx<'_>) -> TokenStream {
    let methods = cx.model.groups.iter().map(|group| method(cx, group));
    quote!(#(#methods)*)
}

fn method(cx: &Cx<'_>, group: &Group) -> TokenStream {
    let p = &cx.p;
    let accessor = &group.accessor;
    let doc = super::doc_lines(&method_doc(cx, group));
    let one = match &group.enum_ident {
        Some(enum_ident) => quote!(#enum_ident<'_>),
        None => {
            let ty = cx.pool_ty(group.types[0]);
            quote!(&#ty)
        }
    };
    let ret = if group.optional() {
        quote!(#p::core::option::Option<#one>)
    } else {
        one
    };
    let (param, body) = match &group.access {
        Access::Global(pool) => {
            let body = match pool {
                Some(pool) if !cx.stub => reference(cx, group, *pool, false),
                _ => cx.unreachable(),
            };
            (TokenStream::new(), body)
        }
        Access::PerHost(routes) => {
            let body = if cx.stub {
                cx.unreachable()
            } else {
                // One arm per target, hosts that share it joined with `|`.
                let mut arms: Vec<(Option<usize>, Vec<&Ident>)> = Vec::new();
                for (host, pool) in routes {
                    let variant = &cx.model.hosts[*host].variant;
                    match arms.iter_mut().find(|(target, _)| target == pool) {
                        Some((_, hosts)) => hosts.push(variant),
                        None => arms.push((*pool, vec![variant])),
                    }
                }
                let optional = group.optional();
                let arms = arms.into_iter().map(|(pool, hosts)| {
                    let value = match pool {
                        Some(pool) => reference(cx, group, pool, optional),
                        None => quote!(#p::core::option::Option::None),
                    };
                    quote!(#(Host::#hosts)|* => #value,)
                });
                quote! {
                    match host {
                        #(#arms)*
                    }
                }
            };
            (quote!(, host: Host), body)
        }
    };
    quote! {
        #doc
        #[must_use]
        pub fn #accessor(&self #param) -> #ret {
            #body
        }
    }
}

/// `&self.__pool_i`, wrapped in the group's enum and in `Some` as the accessor returns it.
fn reference(cx: &Cx<'_>, group: &Group, pool: usize, optional: bool) -> TokenStream {
    let p = &cx.p;
    let pool = &cx.model.pools[pool];
    let field = &pool.field;
    let value = match &group.enum_ident {
        Some(enum_ident) => {
            let variant = pool.ty.variant();
            quote!(#enum_ident::#variant(&self.#field))
        }
        None => quote!(&self.#field),
    };
    if optional {
        quote!(#p::core::option::Option::Some(#value))
    } else {
        value
    }
}

fn method_doc(cx: &Cx<'_>, group: &Group) -> String {
    let model = cx.model;
    let what = format!("`{}` pool with tag `{}`", group.pool_type, group.tag);
    let describe = |pool: usize| {
        let pool = &model.pools[pool];
        format!(
            "`{}` (`Pool<{}, {}>`, {} workers)",
            pool.name,
            pool.ty.connector.type_name(),
            pool.ty.strategy.type_name(),
            pool.planned.workers
        )
    };
    let mut doc = match &group.access {
        Access::Global(Some(pool)) => format!("The {what}: {}.", describe(*pool)),
        Access::Global(None) => format!("The {what}."),
        Access::PerHost(routes) => {
            let mut doc =
                format!("The {what} serving `host`: its own pool, else the global one.\n");
            for (host, pool) in routes {
                let host = &model.hosts[*host].name;
                match pool {
                    Some(pool) => {
                        let _ = write!(doc, "\n- `{host}`: {}", describe(*pool));
                    }
                    None => {
                        let _ = write!(doc, "\n- `{host}`: none");
                    }
                }
            }
            doc
        }
    };
    if group.optional() {
        let _ = write!(
            doc,
            "\n\nReturns `None` for a host with neither a {what} of its own nor a global one."
        );
    }
    if let Some(enum_ident) = &group.enum_ident {
        let _ = write!(
            doc,
            "\n\nThese pools differ in connector or strategy, so this returns a `{enum_ident}`, \
             whose methods dispatch with a `match`."
        );
    }
    doc
}

/// The enums of references of the groups that need one.
pub(super) fn enums(cx: &Cx<'_>) -> TokenStream {
    let enums = cx
        .model
        .groups
        .iter()
        .filter_map(|group| Some(enum_of(cx, group, group.enum_ident.as_ref()?)));
    quote!(#(#enums)*)
}

fn enum_of(cx: &Cx<'_>, group: &Group, enum_ident: &Ident) -> TokenStream {
    let p = &cx.p;
    let vis = &cx.item.vis;
    let pools_ident = &cx.item.ident;
    let allows = cx.allows();
    let variants: Vec<Ident> = group.types.iter().map(|ty| ty.variant()).collect();
    let types = group.types.iter().map(|ty| cx.pool_ty(*ty));
    let variant_docs = group.types.iter().map(|ty| {
        format!(
            "A `Pool<{}, {}>`.",
            ty.connector.type_name(),
            ty.strategy.type_name()
        )
    });
    let doc = format!(
        "The `{}` pools with tag `{}` of [`{pools_ident}`] differ in connector or strategy: \
         one variant per `Pool<C, S>` type, with methods that `match` (no `dyn`, no boxing).",
        group.pool_type, group.tag
    );
    let dispatch = |call: TokenStream| dispatch(cx, &variants, &call);
    let name = dispatch(quote!(name()));
    let status = dispatch(quote!(status()));
    let calls = calls(cx, group, &variants);

    quote! {
        #[doc = #doc]
        #[derive(#p::core::clone::Clone, #p::core::marker::Copy, #p::core::fmt::Debug)]
        #vis enum #enum_ident<'a> {
            #(
                #[doc = #variant_docs]
                #variants(&'a #types),
            )*
        }

        #allows
        impl<'a> #enum_ident<'a> {
            /// The pool's name, e.g. `redis.a.com.default`.
            #[must_use]
            pub fn name(&self) -> &'a #p::PoolName {
                #name
            }

            /// The pool's status.
            #[must_use]
            pub fn status(&self) -> #p::PoolStatus {
                #status
            }

            #calls
        }
    }
}

/// The body of an enum method: the same call on whichever pool the enum holds.
fn dispatch(cx: &Cx<'_>, variants: &[Ident], call: &TokenStream) -> TokenStream {
    if cx.stub {
        return cx.unreachable();
    }
    quote! {
        match *self {
            #(Self::#variants(__pool) => __pool.#call,)*
        }
    }
}

/// The enum's `get`/`call`/`cast` methods: keyed ones when every pool has the same connector,
/// keyless ones when moreover none is `hash_worker`.
fn calls(cx: &Cx<'_>, group: &Group, variants: &[Ident]) -> TokenStream {
    let p = &cx.p;
    let dispatch = |call: TokenStream| dispatch(cx, variants, &call);
    let mut calls = TokenStream::new();
    let shared: Option<PoolTy> = group
        .types
        .iter()
        .all(|ty| ty.connector == group.types[0].connector)
        .then_some(group.types[0]);
    let keyless = group
        .types
        .iter()
        .all(|ty| ty.strategy != Strategy::HashWorker);
    if let Some(ty) = shared {
        let c = cx.connector(ty);
        let err = cx.error_ty(ty);
        let conn_ty = quote!(<#c as #p::ManageConnection>::Connection);
        let guard = cx.result(&quote!(#p::Conn<'a, #c>), &err);
        let out = cx.result(&quote!(T), &err);
        let hash = quote!(#p::core::hash::Hash);
        let get_by = dispatch(quote!(get_by(key).await));
        let call_by = dispatch(quote!(call_by(key, f).await));
        calls.extend(quote! {
            /// The worker `key` maps to, for exclusive use until the guard is dropped
            /// (`Pool::get_by`).
            ///
            /// # Errors
            ///
            /// As `Pool::get_by`: timeout, pool closed, no worker available.
            pub async fn get_by<K: #hash + ?Sized>(&self, key: &K) -> #guard {
                #get_by
            }

            /// Runs `f` on the worker `key` maps to, under `call_timeout` (`Pool::call_by`).
            ///
            /// # Errors
            ///
            /// As `Pool::call_by`: timeout, pool closed, no worker available.
            pub async fn call_by<K, F, T>(&self, key: &K, f: F) -> #out
            where
                K: #hash + ?Sized,
                F: #p::core::ops::AsyncFnOnce(&mut #conn_ty) -> T,
            {
                #call_by
            }
        });
        if keyless {
            let get = dispatch(quote!(get().await));
            let call = dispatch(quote!(call(f).await));
            calls.extend(quote! {
                /// A worker chosen by the pool's strategy, for exclusive use until the guard
                /// is dropped (`Pool::get`).
                ///
                /// # Errors
                ///
                /// As `Pool::get`: timeout, pool closed, no worker available.
                pub async fn get(&self) -> #guard {
                    #get
                }

                /// Runs `f` on a worker chosen by the pool's strategy, under `call_timeout`
                /// (`Pool::call`).
                ///
                /// # Errors
                ///
                /// As `Pool::call`: timeout, pool closed, no worker available.
                pub async fn call<F, T>(&self, f: F) -> #out
                where
                    F: #p::core::ops::AsyncFnOnce(&mut #conn_ty) -> T,
                {
                    #call
                }
            });
        }
        if ty.connector == ConnectorKind::Generic {
            let job =
                quote!(#p::core::future::Future<Output = ()> + #p::core::marker::Send + 'static);
            let done = cx.result(&quote!(()), &err);
            let cast_by = dispatch(quote!(cast_by(key, job)));
            calls.extend(quote! {
                /// Runs `job` in the background on the worker `key` maps to (`Pool::cast_by`).
                ///
                /// # Errors
                ///
                /// As `Pool::cast_by`: pool closed, queue full.
                pub fn cast_by<K, F>(&self, key: &K, job: F) -> #done
                where
                    K: #hash + ?Sized,
                    F: #job,
                {
                    #cast_by
                }
            });
            if keyless {
                let cast = dispatch(quote!(cast(job)));
                calls.extend(quote! {
                    /// Runs `job` in the background on a worker chosen by the pool's strategy
                    /// (`Pool::cast`).
                    ///
                    /// # Errors
                    ///
                    /// As `Pool::cast`: pool closed, queue full.
                    pub fn cast<F>(&self, job: F) -> #done
                    where
                        F: #job,
                    {
                        #cast
                    }
                });
            }
        }
    }

    calls
}
