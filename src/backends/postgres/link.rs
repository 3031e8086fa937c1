//! The backend's link to the server: its own tokio runtime on its own thread, a small pool of
//! connections, and the one connection that listens for `NOTIFY wfc_ready`.
//!
//! The [`TaskBackend`](crate::runtime::TaskBackend) port is synchronous and is called from
//! blocking threads and from inside the engine's async code alike. So no method ever calls
//! `block_on`: each statement is spawned onto the link's runtime and the calling thread waits
//! for its answer on a channel. A transaction is a [`Session`]: one connection taken from the
//! pool, driven statement by statement from the calling thread, and given back at its end.
//!
//! Invariant: a connection goes back to the pool only outside a transaction; one that failed
//! in a way that may have left it mid-transaction or broken is dropped, and the next session
//! connects afresh. That is how wfc reconnects after a lost connection or a server restart.

use super::address::Address;
use crate::runtime::BackendError;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, Client, Row, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

/// The channel wfc notifies when tasks may have become ready to claim.
pub const READY_CHANNEL: &str = "wfc_ready";

/// How long an operation keeps trying to reach a server that went away (a restart, a network
/// cut) before it fails: long enough for a restart, short enough that a server that is gone
/// is reported.
pub const RECONNECT_WINDOW: Duration = Duration::from_secs(60);

/// The arguments of one statement, owned, so they can cross to the link's runtime.
pub type Args = Vec<Box<dyn ToSql + Send + Sync>>;

/// Boxes each value as a statement argument.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        vec![$(Box::new($value) as Box<dyn tokio_postgres::types::ToSql + Send + Sync>),*]
    };
}
pub(crate) use args;

/// The link to one server and database.
pub struct Link {
    runtime: Option<Runtime>,
    address: Address,
    tls: Option<MakeRustlsConnect>,
    idle: Mutex<Vec<Connection>>,
    /// Counts the `wfc_ready` notifications seen; idle engines wait for it to change.
    ready: watch::Sender<u64>,
}

/// How long the server lets a session sit idle inside a transaction before it ends it.
const IDLE_IN_TRANSACTION: &str = "5s";

/// One connection of the pool, with the statements it has prepared.
struct Connection {
    client: Arc<Client>,
    prepared: HashMap<&'static str, Statement>,
}

impl Link {
    /// Starts the link's runtime and connects once, so a wrong URL, a refused password or a
    /// missing database is reported now, by [`connect_error`].
    pub fn open(address: Address) -> Result<Link, BackendError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("wfc-postgres")
            .enable_all()
            .build()
            .map_err(|error| {
                BackendError::storage(
                    format!(
                        "cannot start the connection thread for `{}`: {error}",
                        address.shown
                    ),
                    "the system is out of threads or memory: try again",
                )
            })?;
        let tls = super::tls::connector(&address)?;
        let (ready, _) = watch::channel(0);
        let link = Link {
            runtime: Some(runtime),
            address,
            tls,
            idle: Mutex::new(Vec::new()),
            ready,
        };
        let first = link
            .connect()
            .map_err(|error| connect_error(&link.address, &error))?;
        link.give_back(first);
        Ok(link)
    }

    /// The URL without its password.
    pub fn shown(&self) -> &str {
        &self.address.shown
    }

    /// The address the link connects to.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Runs `future` on the link's runtime and waits for its answer on this thread.
    fn run<T: Send + 'static>(&self, future: impl Future<Output = T> + Send + 'static) -> T {
        let (send, receive) = std::sync::mpsc::sync_channel(1);
        let handle = self.handle();
        handle.spawn(async move {
            let _ = send.send(future.await);
        });
        match receive.recv() {
            Ok(value) => value,
            // The runtime drops a task only when it is shut down, which happens only when the
            // link is dropped, and a link is not dropped while one of its methods runs.
            Err(_) => unreachable!("the postgres link's runtime stopped while in use"),
        }
    }

    fn handle(&self) -> tokio::runtime::Handle {
        match &self.runtime {
            Some(runtime) => runtime.handle().clone(),
            None => unreachable!("the postgres link's runtime is taken only when it is dropped"),
        }
    }

    /// Opens a new connection with the schema as its search path; the connection's I/O runs
    /// on the link's runtime.
    fn connect(&self) -> Result<Connection, tokio_postgres::Error> {
        let config = self.address.config.clone();
        let tls = self.tls.clone();
        let schema = self.address.schema_ident();
        let client = self.run(async move {
            let client = match tls {
                Some(tls) => {
                    let (client, connection) = handshake(&config, tls).await?;
                    tokio::spawn(connection);
                    client
                }
                None => {
                    let (client, connection) = handshake(&config, tokio_postgres::NoTls).await?;
                    tokio::spawn(connection);
                    client
                }
            };
            // A transaction of wfc's lasts milliseconds. One left open by an engine that was
            // paused (SIGSTOP, a laptop's lid) or hangs would hold its rows' locks, and
            // `SKIP LOCKED` would hide its task from every other engine for as long: the server
            // ends such a session after IDLE_IN_TRANSACTION, and the paused engine, woken,
            // finds its transaction gone and its claim taken over.
            client
                .batch_execute(&format!(
                    "SET search_path TO {schema}; \
                     SET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION}'"
                ))
                .await?;
            Ok::<_, tokio_postgres::Error>(client)
        })?;
        Ok(Connection {
            client: Arc::new(client),
            prepared: HashMap::new(),
        })
    }

    /// A connection for one session: an idle one of the pool, else a new one. While the server
    /// cannot be reached, tries again with a growing pause until `deadline`.
    fn take(&self, deadline: Instant) -> Result<Connection, tokio_postgres::Error> {
        loop {
            let idle = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            match idle {
                Some(connection) if !connection.client.is_closed() => return Ok(connection),
                Some(_) => continue,
                None => {}
            }
            let mut pause = Duration::from_millis(50);
            loop {
                match self.connect() {
                    Ok(connection) => return Ok(connection),
                    Err(error) if is_lost(&error) && Instant::now() + pause < deadline => {
                        std::thread::sleep(pause);
                        pause = (pause * 2).min(Duration::from_secs(2));
                    }
                    Err(error) => return Err(error),
                }
            }
        }
    }

    fn give_back(&self, connection: Connection) {
        if !connection.client.is_closed() {
            self.idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(connection);
        }
    }

    /// Runs `body` in one transaction begun by `begin` (`BEGIN …`) and commits it; with
    /// `begin` `None`, each statement of `body` is a transaction of its own (for a body of one
    /// statement: one round trip in all). A transaction that failed because the connection was
    /// lost, or that the server aborted as a deadlock or a serialization failure, is run again
    /// on a fresh connection (until [`RECONNECT_WINDOW`] has passed): it committed nothing,
    /// and `body` reads everything it decides on inside the transaction. Every other error
    /// rolls back and is returned.
    ///
    /// Round trips are few: `BEGIN` goes with the body's first statement, and the statements
    /// the body deferred ([`Session::defer`]) go with the `COMMIT`, each group sent at once
    /// (pipelined) and answered together.
    pub fn transaction<T, E: From<tokio_postgres::Error> + Retry>(
        &self,
        begin: Option<&'static str>,
        mut body: impl FnMut(&mut Session<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let deadline = Instant::now() + RECONNECT_WINDOW;
        let mut pause = Duration::from_millis(20);
        loop {
            let connection = self.take(deadline)?;
            let mut session = Session {
                link: self,
                connection: Some(connection),
                begin,
                begun: false,
                deferred: Vec::new(),
            };
            let result = body(&mut session)
                .and_then(|value| session.commit().map(|()| value).map_err(E::from));
            match result {
                Ok(value) => {
                    session.finish(true);
                    return Ok(value);
                }
                Err(error) => {
                    let retry = error.retry() && Instant::now() + pause < deadline;
                    // The connection is given back only if it can roll back cleanly.
                    let clean = session.roll_back();
                    session.finish(clean);
                    if !retry {
                        return Err(error);
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    /// A receiver that changes each time a `wfc_ready` notification arrives, with the task
    /// that listens started on first use.
    pub fn ready_signal(&self) -> watch::Receiver<u64> {
        if self.ready.receiver_count() == 0 {
            self.handle().spawn(listen(
                self.address.clone(),
                self.tls.clone(),
                self.ready.clone(),
            ));
        }
        self.ready.subscribe()
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // A runtime may not be dropped where blocking is not allowed (inside the engine's
        // async code); shutting it down in the background may.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Whether an operation that failed with this error may be run again from the start.
pub trait Retry {
    /// `true` for a lost connection, a deadlock and a serialization failure.
    fn retry(&self) -> bool;
}

impl Retry for tokio_postgres::Error {
    fn retry(&self) -> bool {
        is_lost(self)
            || self.code().is_some_and(|code| {
                *code == tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED
                    || *code == tokio_postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
            })
    }
}

/// Whether `error` means the server could not be reached or the connection broke (not an
/// answer of the server's).
pub fn is_lost(error: &tokio_postgres::Error) -> bool {
    error.as_db_error().is_none()
        && (error.is_closed()
            || std::error::Error::source(error)
                .is_some_and(|source| source.downcast_ref::<std::io::Error>().is_some())
            || error.to_string().contains("timeout"))
        || error.code().is_some_and(|code| {
            *code == tokio_postgres::error::SqlState::ADMIN_SHUTDOWN
                || *code == tokio_postgres::error::SqlState::CANNOT_CONNECT_NOW
                || *code == tokio_postgres::error::SqlState::CRASH_SHUTDOWN
        })
}

/// One transaction's connection, driven statement by statement from the calling thread.
pub struct Session<'a> {
    link: &'a Link,
    connection: Option<Connection>,
    /// The `BEGIN` not sent yet: it goes with the first statement.
    begin: Option<&'static str>,
    /// Whether a `BEGIN` was sent, so there is a transaction to commit or roll back.
    begun: bool,
    /// Statements whose answers nobody waits for, sent with the next one (or the `COMMIT`).
    deferred: Vec<Request>,
}

/// One statement of a pipeline.
enum Request {
    /// A simple query: no arguments, no rows wanted.
    Batch(String),
    /// A prepared statement whose rows are wanted.
    Query(Statement, Args),
    /// A prepared statement whose count of changed rows is wanted.
    Execute(Statement, Args),
}

/// What one statement of a pipeline answered.
enum Answer {
    Done,
    Rows(Vec<Row>),
    Count(u64),
}

impl Session<'_> {
    fn connection(&mut self) -> &mut Connection {
        match &mut self.connection {
            Some(connection) => connection,
            None => unreachable!("a session's connection is taken only when it finishes"),
        }
    }

    fn finish(&mut self, clean: bool) {
        if let Some(connection) = self.connection.take() {
            if clean {
                self.link.give_back(connection);
            }
        }
    }

    /// The URL of the store, without its password.
    pub fn shown(&self) -> &str {
        self.link.shown()
    }

    /// Sends the `BEGIN` still to send, the deferred statements and `last` at once, in that
    /// order, and waits for all their answers: the first error, else `last`'s answer.
    fn send(&mut self, last: Option<Request>) -> Result<Answer, tokio_postgres::Error> {
        let mut requests = Vec::new();
        if let Some(begin) = self.begin.take() {
            requests.push(Request::Batch(begin.to_string()));
            self.begun = true;
        }
        requests.append(&mut self.deferred);
        requests.extend(last);
        if requests.is_empty() {
            return Ok(Answer::Done);
        }
        let client = Arc::clone(&self.connection().client);
        self.link.run(async move {
            let answers = pipeline(&client, &requests).await;
            let mut last = Ok(Answer::Done);
            for answer in answers {
                last = Ok(answer?);
            }
            last
        })
    }

    /// Commits: sends what is left (the deferred statements, and a `COMMIT` if a transaction
    /// was begun). A session that sent nothing sends nothing.
    fn commit(&mut self) -> Result<(), tokio_postgres::Error> {
        if self.begun || !self.deferred.is_empty() {
            let commit = (self.begun || self.begin.is_some()).then(|| "COMMIT".to_string());
            self.send(commit.map(Request::Batch))?;
        }
        Ok(())
    }

    /// Ends a failed session: rolls back a transaction that was begun. Returns whether the
    /// connection is clean to use again.
    fn roll_back(&mut self) -> bool {
        self.deferred.clear();
        self.begin = None;
        if !self.begun {
            return !self.connection().client.is_closed();
        }
        self.begun = false;
        self.send(Some(Request::Batch("ROLLBACK".to_string())))
            .is_ok()
    }

    /// Runs `sql` (one or more statements, no arguments) as a simple query.
    pub fn batch(&mut self, sql: &str) -> Result<(), tokio_postgres::Error> {
        self.send(Some(Request::Batch(sql.to_string()))).map(|_| ())
    }

    /// The statement `sql`, prepared once per connection.
    fn prepared(&mut self, sql: &'static str) -> Result<Statement, tokio_postgres::Error> {
        if let Some(statement) = self.connection().prepared.get(sql) {
            return Ok(statement.clone());
        }
        let client = Arc::clone(&self.connection().client);
        let statement = self.link.run(async move { client.prepare(sql).await })?;
        self.connection().prepared.insert(sql, statement.clone());
        Ok(statement)
    }

    /// The rows `sql` returns with `args`.
    pub fn query(
        &mut self,
        sql: &'static str,
        args: Args,
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let statement = self.prepared(sql)?;
        match self.send(Some(Request::Query(statement, args)))? {
            Answer::Rows(rows) => Ok(rows),
            Answer::Done | Answer::Count(_) => Ok(Vec::new()),
        }
    }

    /// The one row `sql` returns with `args`, if any.
    pub fn query_opt(
        &mut self,
        sql: &'static str,
        args: Args,
    ) -> Result<Option<Row>, tokio_postgres::Error> {
        Ok(self.query(sql, args)?.into_iter().next())
    }

    /// Runs `sql` with `args` and returns how many rows it changed.
    pub fn execute(&mut self, sql: &'static str, args: Args) -> Result<u64, tokio_postgres::Error> {
        let statement = self.prepared(sql)?;
        match self.send(Some(Request::Execute(statement, args)))? {
            Answer::Count(count) => Ok(count),
            Answer::Done | Answer::Rows(_) => Ok(0),
        }
    }

    /// Runs `sql` with `args` later, with the next statement or the `COMMIT`, whose answer
    /// then carries its error if it fails: for writes whose answer nothing depends on.
    pub fn defer(&mut self, sql: &'static str, args: Args) -> Result<(), tokio_postgres::Error> {
        let statement = self.prepared(sql)?;
        self.deferred.push(Request::Execute(statement, args));
        Ok(())
    }
}

/// Sends every request at once, in order (each is sent when first polled, and they are first
/// polled in order), and waits for every answer.
async fn pipeline(
    client: &Client,
    requests: &[Request],
) -> Vec<Result<Answer, tokio_postgres::Error>> {
    type Pending<'a> =
        std::pin::Pin<Box<dyn Future<Output = Result<Answer, tokio_postgres::Error>> + Send + 'a>>;
    let mut pending: Vec<Option<Pending<'_>>> = requests
        .iter()
        .map(|request| {
            let future: Pending<'_> = match request {
                Request::Batch(sql) => {
                    Box::pin(async move { client.batch_execute(sql).await.map(|()| Answer::Done) })
                }
                Request::Query(statement, args) => Box::pin(async move {
                    client
                        .query(statement, &parameters(args))
                        .await
                        .map(Answer::Rows)
                }),
                Request::Execute(statement, args) => Box::pin(async move {
                    client
                        .execute(statement, &parameters(args))
                        .await
                        .map(Answer::Count)
                }),
            };
            Some(future)
        })
        .collect();
    let mut answers: Vec<Option<Result<Answer, tokio_postgres::Error>>> =
        requests.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut waiting = false;
        for (slot, answer) in pending.iter_mut().zip(answers.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(result) => {
                        *answer = Some(result);
                        *slot = None;
                    }
                    std::task::Poll::Pending => waiting = true,
                }
            }
        }
        if waiting {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    answers.into_iter().flatten().collect()
}

/// `args` as the parameters a statement takes.
fn parameters(args: &Args) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|arg| arg.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// Listens on [`READY_CHANNEL`] for as long as anyone holds a receiver of `ready`, counting
/// each notification; after a lost connection it connects again with a growing pause, and
/// counts one more on reconnecting, since notifications sent meanwhile were lost.
async fn listen(address: Address, tls: Option<MakeRustlsConnect>, ready: watch::Sender<u64>) {
    let mut pause = Duration::from_millis(100);
    while !ready.is_closed() {
        let listened = match tls.clone() {
            Some(tls) => match handshake(&address.config, tls).await {
                Ok((client, connection)) => {
                    listen_on(client, connection, &ready).await;
                    true
                }
                Err(_) => false,
            },
            None => match handshake(&address.config, tokio_postgres::NoTls).await {
                Ok((client, connection)) => {
                    listen_on(client, connection, &ready).await;
                    true
                }
                Err(_) => false,
            },
        };
        if listened {
            pause = Duration::from_millis(100);
            ready.send_modify(|count| *count += 1);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// Connects as `config` says, giving up after its connect timeout and as long again: the
/// connect timeout bounds reaching the server, and this the whole handshake (TLS, logging
/// in), so something that accepts the connection and then says nothing (another program on
/// the port, a server that hangs) is an error, not a wait without end.
async fn handshake<T>(
    config: &tokio_postgres::Config,
    tls: T,
) -> Result<
    (
        Client,
        tokio_postgres::Connection<tokio_postgres::Socket, T::Stream>,
    ),
    tokio_postgres::Error,
>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>,
{
    let limit = config
        .get_connect_timeout()
        .copied()
        .unwrap_or(Duration::from_secs(5))
        * 2;
    match tokio::time::timeout(limit, config.connect(tls)).await {
        Ok(connected) => connected,
        // tokio-postgres's own error for a server that did not answer in time ("timeout
        // waiting for server"), which `is_lost` counts as the server out of reach.
        Err(_) => Err(tokio_postgres::Error::__private_api_timeout()),
    }
}

/// Drives one listening connection until it breaks or nobody waits any more.
async fn listen_on<S, T>(
    client: Client,
    mut connection: tokio_postgres::Connection<S, T>,
    ready: &watch::Sender<u64>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let sql = format!("LISTEN {READY_CHANNEL}");
    let listen = client.batch_execute(&sql);
    tokio::pin!(listen);
    let mut listening = false;
    loop {
        tokio::select! {
            done = &mut listen, if !listening => {
                if done.is_err() {
                    return;
                }
                listening = true;
            }
            message = std::future::poll_fn(|cx| connection.poll_message(cx)) => match message {
                Some(Ok(AsyncMessage::Notification(_))) => {
                    ready.send_modify(|count| *count += 1);
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
            _ = ready.closed() => return,
        }
    }
}

/// The error for a connection that could not be opened, naming the URL without its password
/// and saying what to do.
pub fn connect_error(address: &Address, error: &tokio_postgres::Error) -> BackendError {
    use tokio_postgres::error::SqlState;
    let shown = &address.shown;
    let server_says = error
        .as_db_error()
        .map(|db| db.message().to_string())
        .unwrap_or_else(|| {
            let mut words = error.to_string();
            if let Some(source) = std::error::Error::source(error) {
                words = format!("{words}: {source}");
            }
            words
        });
    let message = format!("cannot connect to the PostgreSQL store `{shown}`: {server_says}");
    let hint = match error.code() {
        Some(code) if *code == SqlState::INVALID_PASSWORD => {
            "the server refused the password: give the right one in the URL, in PGPASSWORD or in \
             ~/.pgpass"
        }
        Some(code) if *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
            "the server refused this user: check the user name, and that the server's \
             pg_hba.conf lets it connect from here"
        }
        Some(code) if *code == SqlState::INVALID_CATALOG_NAME => {
            "the database does not exist: create it (`createdb NAME`) or name another one"
        }
        Some(code) if *code == SqlState::INSUFFICIENT_PRIVILEGE => {
            "this user lacks the rights it needs: grant it CONNECT on the database and CREATE \
             on it (or on the schema), or use another user"
        }
        Some(code) if *code == SqlState::TOO_MANY_CONNECTIONS => {
            "the server has no connection to spare: try again, or raise its max_connections"
        }
        _ if tls_refused(error) => {
            "the server does not offer TLS, which this `sslmode` requires: turn `ssl` on at the \
             server, or use `sslmode=prefer` or `sslmode=disable`"
        }
        _ if certificate_refused(error) => {
            "the server's certificate did not pass the check this `sslmode` asks for: name the \
             CA that signs it with `sslrootcert=PATH`, connect by a host name the certificate \
             holds (`verify-full`), or use `sslmode=require` to encrypt without checking"
        }
        _ if error.as_db_error().is_none() => {
            "check the host and port, and that the PostgreSQL server is running and accepts \
             connections from this machine"
        }
        _ => "check the URL, the user's rights and the server's log",
    };
    BackendError::storage(message, hint)
}

/// Whether the server answered a request for TLS with "no".
fn tls_refused(error: &tokio_postgres::Error) -> bool {
    std::error::Error::source(error)
        .is_some_and(|source| source.to_string().contains("server does not support TLS"))
}

/// Whether the TLS handshake failed on the server's certificate.
fn certificate_refused(error: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let tls = cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .or_else(|| cause.downcast_ref::<rustls::Error>());
        if let Some(tls) = tls {
            return matches!(
                tls,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            );
        }
        source = cause.source();
    }
    false
}
