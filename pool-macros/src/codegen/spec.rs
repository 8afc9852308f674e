//! One `PoolSpec` per planned pool: every option resolved, connection settings with their
//! kind and source. `env(...)` values stay names here; the runtime reads them at start.

use pool_spec::{Level, PlannedSetting, PoolType, Value};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::Cx;
use crate::model::Pool;

pub(super) fn pool_spec(cx: &Cx<'_>, pool: &Pool) -> TokenStream {
    let p = &cx.p;
    let planned = &pool.planned;
    let name = &pool.name;
    let pool_type = planned.pool_type.name();
    let host = option(cx, planned.host.as_deref().map(|h| quote!(#h)));
    let tag = &planned.tag;
    let connector = planned.connector.type_name();
    let strategy = planned.strategy.name();
    let workers = Literal::u32_unsuffixed(planned.workers);
    let call_timeout = option(cx, Some(literal(planned.call_timeout_ms)));
    let queue_type = match planned.queue_type {
        pool_spec::QueueType::Fifo => quote!(#p::QueueType::Fifo),
        pool_spec::QueueType::Lifo => quote!(#p::QueueType::Lifo),
    };
    let max_queue = option(cx, planned.max_worker_queue_len.map(literal));
    let overrun = option(cx, planned.overrun_warning_ms.map(literal));
    let max_overruns = option(cx, planned.max_overrun_warnings.map(literal));
    let connection = planned
        .connection
        .iter()
        .map(|s| setting(cx, planned.pool_type, Level::Connection, s.key, s));
    let tls = planned.tls.iter().flat_map(|tls| {
        tls.settings.iter().map(|s| {
            let key = format!("tls.{}", s.key);
            setting(cx, planned.pool_type, Level::Tls, &key, s)
        })
    });
    let settings: Vec<TokenStream> = connection.chain(tls).collect();
    quote! {
        #p::PoolSpec {
            name: #name,
            pool_type: #pool_type,
            host: #host,
            tag: #tag,
            connector: #connector,
            strategy: #strategy,
            workers: #workers,
            call_timeout_ms: #call_timeout,
            queue_type: #queue_type,
            max_worker_queue_len: #max_queue,
            overrun_warning_ms: #overrun,
            max_overrun_warnings: #max_overruns,
            connection: &[#(#settings),*],
        }
    }
}

fn setting(
    cx: &Cx<'_>,
    pool_type: PoolType,
    level: Level,
    key: &str,
    setting: &PlannedSetting,
) -> TokenStream {
    let p = &cx.p;
    let desc_kind =
        pool_spec::lookup(level, pool_type, setting.key).map_or(pool_spec::Kind::Str, |d| d.kind);
    let kind = match desc_kind {
        pool_spec::Kind::Int | pool_spec::Kind::IntOrInfinity => quote!(#p::Kind::Int),
        pool_spec::Kind::Bool => quote!(#p::Kind::Bool),
        pool_spec::Kind::StrList => quote!(#p::Kind::List),
        pool_spec::Kind::Servers => quote!(#p::Kind::Servers),
        pool_spec::Kind::Str
        | pool_spec::Kind::Url
        | pool_spec::Kind::Enum(_)
        | pool_spec::Kind::Scope
        | pool_spec::Kind::Tag => quote!(#p::Kind::Str),
    };
    let source = match &setting.value {
        Value::Int(i) => {
            let i = Literal::i64_unsuffixed(*i);
            quote!(#p::Source::Int(#i))
        }
        Value::Str(s) | Value::Ident(s) => quote!(#p::Source::Str(#s)),
        Value::Bool(b) => quote!(#p::Source::Bool(#b)),
        Value::Infinity => quote!(#p::Source::Str("infinity")),
        Value::List(items) => quote!(#p::Source::List(&[#(#items),*])),
        Value::Servers(servers) => {
            let servers = servers.iter().map(|s| {
                let host = &s.host;
                let port = Literal::u16_unsuffixed(s.port);
                quote!((#host, #port))
            });
            quote!(#p::Source::Servers(&[#(#servers),*]))
        }
        Value::Env { name, default } => {
            let default = option(cx, default.as_ref().map(|d| quote!(#d)));
            quote!(#p::Source::Env { var: #name, default: #default })
        }
    };
    let secret = setting.secret;
    quote! {
        #p::SettingSpec { key: #key, kind: #kind, source: #source, secret: #secret }
    }
}

fn literal(n: u64) -> TokenStream {
    let n = Literal::u64_unsuffixed(n);
    quote!(#n)
}

/// `Some(value)` or `None`, through `__private`.
fn option(cx: &Cx<'_>, value: Option<TokenStream>) -> TokenStream {
    let p = &cx.p;
    match value {
        Some(value) => quote!(#p::core::option::Option::Some(#value)),
        None => quote!(#p::core::option::Option::None),
    }
}
