//! What a `postgres://` URL names: the server, the database, the user and how they log in,
//! and the schema wfc keeps its tables in. Parsed once, with the password kept out of every
//! name a person sees ([`Address::shown`]).
//!
//! The URL is libpq's (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…]`), with one
//! parameter of wfc's own: `schema=NAME` (default `wfc`), the schema that holds wfc's tables,
//! so several stores can share one database (each test uses its own). `sslmode` and
//! `sslrootcert` are read here as libpq reads them ([`TlsMode`]); `tls.rs` carries them out. A password missing
//! from the URL is taken as libpq takes it: from `PGPASSWORD`, else from the password file
//! (`PGPASSFILE`, else `~/.pgpass`). A user missing from the URL is `PGUSER`, else the
//! login name.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::Config;

/// The schema wfc's tables live in when the URL names none.
pub const DEFAULT_SCHEMA: &str = "wfc";

/// How long connecting to the server may take before wfc gives up, unless the URL sets
/// `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A parsed `postgres://` URL.
#[derive(Clone)]
pub struct Address {
    /// What tokio-postgres connects with, password included.
    pub config: Config,
    /// The schema holding wfc's tables.
    pub schema: String,
    /// The URL as given, with its password replaced by `***`: the only form errors print.
    pub shown: String,
    /// Whether and how to talk to the server over TLS (`sslmode=…`).
    pub tls: TlsMode,
    /// Where the certificates of the authorities that sign the server's certificate are
    /// (`sslrootcert=PATH`, or `system` for the system's roots).
    pub root_cert: Option<String>,
}

/// libpq's `sslmode`, as wfc carries it out with rustls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// `disable` (and `allow`, which libpq tries plain first): no TLS.
    Disable,
    /// `prefer` (libpq's default): TLS if the server offers it, its certificate unchecked;
    /// plain otherwise.
    Prefer,
    /// `require`: TLS or nothing; the certificate is unchecked, as libpq does, unless
    /// `sslrootcert` names the authorities to check it against (then as `verify-ca`).
    Require,
    /// `verify-ca`: TLS with the certificate signed by a trusted authority.
    VerifyCa,
    /// `verify-full`: as `verify-ca`, and the certificate names the host connected to.
    VerifyFull,
}

impl TlsMode {
    fn parse(value: &str) -> Option<TlsMode> {
        Some(match value {
            "disable" | "allow" => TlsMode::Disable,
            "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            _ => return None,
        })
    }
}

impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Address")
            .field("url", &self.shown)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl Address {
    /// Parses `url`; an error names the URL without its password and says what is wrong.
    pub fn parse(url: &str) -> Result<Address, String> {
        let shown = redact(url);
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut schema = DEFAULT_SCHEMA.to_string();
        let mut tls = TlsMode::Prefer;
        let mut root_cert = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("schema", name)) => schema = name.to_string(),
                Some(("sslmode", mode)) => {
                    tls = TlsMode::parse(mode).ok_or_else(|| {
                        format!(
                            "`sslmode={mode}` in `{shown}` is not one wfc knows: use disable, \
                             prefer, require, verify-ca or verify-full"
                        )
                    })?
                }
                Some(("sslrootcert", path)) => root_cert = Some(path.to_string()),
                _ => kept.push(pair),
            }
        }
        if !valid_schema(&schema) {
            return Err(format!(
                "`schema={schema}` in `{shown}` is not a schema name wfc uses: use letters, \
                 digits and `_`, starting with a letter or `_`, at most 63 of them"
            ));
        }
        let libpq = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config = Config::from_str(&libpq).map_err(|error| {
            format!(
                "`{shown}` is not a PostgreSQL URL wfc can use: {error}; write it as \
                 `postgres://USER@HOST:PORT/DATABASE`, with `?schema=NAME` to choose the schema"
            )
        })?;
        if config.get_hosts().is_empty() {
            let host = std::env::var("PGHOST").unwrap_or_else(|_| "localhost".to_string());
            config.host(&host);
        }
        if config.get_user().is_none() {
            let user = std::env::var("PGUSER")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_else(|_| "postgres".to_string());
            config.user(&user);
        }
        if config.get_dbname().is_none() {
            if let Ok(db) = std::env::var("PGDATABASE") {
                config.dbname(&db);
            }
        }
        if config.get_password().is_none() {
            if let Some(password) = password_from_environment(&config) {
                config.password(password);
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("wfc");
        }
        config.ssl_mode(match tls {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
        });
        Ok(Address {
            config,
            schema,
            shown,
            tls,
            root_cert,
        })
    }

    /// The schema's name quoted for SQL.
    pub fn schema_ident(&self) -> String {
        format!("\"{}\"", self.schema)
    }
}

/// Whether `name` is a plain identifier, so it is the same quoted or not and needs no escaping.
fn valid_schema(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}

/// `url` with any password in it replaced by `***`: in the user part
/// (`postgres://USER:PASSWORD@…`) and in a `password=` parameter.
pub fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut shown = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(at) => rest.split_at(at),
                None => (rest, ""),
            };
            let authority = match authority.rsplit_once('@') {
                Some((userinfo, host)) => match userinfo.split_once(':') {
                    Some((user, _)) => format!("{user}:***@{host}"),
                    None => authority.to_string(),
                },
                None => authority.to_string(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => base.to_string(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=***"),
                _ => pair.to_string(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&pairs.join("&"));
    }
    shown
}

/// The password libpq would use for `config` when its URL has none: `PGPASSWORD`, else the
/// first matching line of the password file.
fn password_from_environment(config: &Config) -> Option<String> {
    if let Ok(password) = std::env::var("PGPASSWORD") {
        return Some(password);
    }
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".pgpass")))?;
    let text = std::fs::read_to_string(file).ok()?;
    let host = match config.get_hosts().first()? {
        Host::Tcp(name) => name.clone(),
        #[cfg(unix)]
        Host::Unix(_) => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or_default();
    let user = config.get_user().unwrap_or_default();
    pgpass_lookup(&text, &[&host, &port, db, user])
}

/// The password of the first line of a `.pgpass` text whose four fields (host, port,
/// database, user; `*` matches anything) match `wanted`. Fields are separated by `:`, and
/// `\` escapes a `:` or a `\`; lines starting with `#` are comments.
pub fn pgpass_lookup(text: &str, wanted: &[&str; 4]) -> Option<String> {
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => field.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
                _ => field.push(c),
            }
        }
        fields.push(field);
        if fields.len() != 5 {
            continue;
        }
        let matches = fields[..4]
            .iter()
            .zip(wanted)
            .all(|(field, wanted)| field == "*" || field == wanted);
        if matches {
            return fields.pop();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db?schema=s"),
            "postgres://u:***@h:5432/db?schema=s"
        );
        assert_eq!(
            redact("postgresql://h/db?password=secret&sslmode=require"),
            "postgresql://h/db?password=***&sslmode=require"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        let error = Address::parse("postgres://u:secret@h:notaport/db").expect_err("bad port");
        assert!(
            !error.contains("secret") && error.contains("u:***@h"),
            "{error}"
        );
    }

    #[test]
    fn urls_name_a_schema() {
        let address = Address::parse("postgres://u@h:1/db?schema=mine").expect("url");
        assert_eq!(address.schema, "mine");
        assert_eq!(address.config.get_ports(), &[1]);
        assert_eq!(address.config.get_dbname(), Some("db"));
        assert_eq!(address.tls, TlsMode::Prefer, "libpq's default");
        assert_eq!(
            Address::parse("postgres://u@h/db").expect("url").schema,
            DEFAULT_SCHEMA
        );
        assert!(Address::parse("postgres://u@h/db?schema=a;drop").is_err());
    }

    #[test]
    fn urls_say_how_to_use_tls() {
        for (mode, tls, ssl) in [
            ("disable", TlsMode::Disable, SslMode::Disable),
            ("allow", TlsMode::Disable, SslMode::Disable),
            ("prefer", TlsMode::Prefer, SslMode::Prefer),
            ("require", TlsMode::Require, SslMode::Require),
            ("verify-ca", TlsMode::VerifyCa, SslMode::Require),
            ("verify-full", TlsMode::VerifyFull, SslMode::Require),
        ] {
            let url = format!("postgres://u@h/db?sslmode={mode}&sslrootcert=/ca.pem&schema=s");
            let address = Address::parse(&url).expect("url");
            assert_eq!((address.tls, address.config.get_ssl_mode()), (tls, ssl));
            assert_eq!(address.root_cert.as_deref(), Some("/ca.pem"));
            assert_eq!(address.schema, "s");
        }
        let error = Address::parse("postgres://u:secret@h/db?sslmode=maybe").expect_err("mode");
        assert!(
            error.contains("`sslmode=maybe`") && error.contains("verify-full"),
            "{error}"
        );
        assert!(!error.contains("secret"), "{error}");
    }

    #[test]
    fn pgpass_lines_match_by_field() {
        let text = "# comment\nother:5432:*:u:no\nh:5432:db:u:pa\\:ss\n*:*:*:*:any\n";
        assert_eq!(
            pgpass_lookup(text, &["h", "5432", "db", "u"]).as_deref(),
            Some("pa:ss")
        );
        assert_eq!(
            pgpass_lookup(text, &["x", "1", "y", "z"]).as_deref(),
            Some("any")
        );
        assert_eq!(pgpass_lookup("h:1:d:u\n", &["h", "1", "d", "u"]), None);
    }
}
