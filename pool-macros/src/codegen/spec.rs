//! One `PoolSpec` per planned pool: every option that can change at start and every connection
//! setting, with its source (the runtime finds kinds and rules in the option table). `env(...)` values stay names here; the runtime reads them at start.

use pool_spec::{PlannedSetting, Value};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::Cx;
use crate::model::Pool;

pub(super) fn pool_spec(cx: &Cx<'_>, pool: &Pool) -> TokenStream {
    let p = &cx.p;
    let planned = &pool.planned;
    let name = &pool.name;
    let pool_type = format_ident!("{}", camel(planned.pool_type.name()));
    // The declared driver (`cockroachdb` runs on the pgsql connector but keeps its defaults).
    let driver = option(
        cx,
        planned.driver().map(|d| {
            let d = format_ident!("{}", camel(d.name()));
            quote!(#p::Driver::#d)
        }),
    );
    let host = option(cx, planned.host.as_deref().map(|h| quote!(#h)));
    let tag = &planned.tag;
    let connector = planned.connector.type_name();
    let strategy = planned.strategy.name();
    let options = planned.options.iter().map(|s| setting(cx, s.key, s));
    let connection = planned.connection.iter().map(|s| {
        let key = pool_spec::key_of(pool_spec::Level::Connection, s.key);
        setting(cx, &key, s)
    });
    let tls = planned.tls.iter().flat_map(|tls| {
        tls.settings.iter().map(|s| {
            let key = pool_spec::key_of(pool_spec::Level::Tls, s.key);
            setting(cx, &key, s)
        })
    });
    let settings: Vec<TokenStream> = connection.chain(tls).collect();
    quote! {
        #p::PoolSpec {
            name: #name,
            pool_type: #p::PoolType::#pool_type,
            driver: #driver,
            host: #host,
            tag: #tag,
            connector: #connector,
            strategy: #strategy,
            options: &[#(#options),*],
            connection: &[#(#settings),*],
        }
    }
}

fn camel(name: &str) -> String {
    let mut c = name.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

fn setting(cx: &Cx<'_>, key: &str, setting: &PlannedSetting) -> TokenStream {
    let p = &cx.p;
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
    let written = setting.explicit;
    quote! {
        #p::SettingSpec { key: #key, source: #source, written: #written }
    }
}

/// `Some(value)` or `None`, through `__private`.
fn option(cx: &Cx<'_>, value: Option<TokenStream>) -> TokenStream {
    let p = &cx.p;
    match value {
        Some(value) => quote!(#p::core::option::Option::Some(#value)),
        None => quote!(#p::core::option::Option::None),
    }
}
