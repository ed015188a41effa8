//! The TCP edge of `ward serve`: the accept loop, the connection cap, the timeouts that keep
//! slow and idle clients from holding connections, request heads over ward's limits answered
//! in JSON, and a graceful shutdown with a grace limit.
//!
//! Each connection is served by hyper's HTTP/1 server, given no timer of its own: hyper's
//! header timeout starts whenever it waits for a request head, so it would also be the idle
//! timeout, and could not tell a client that sent nothing from one between requests. Instead
//! a watchdog beside each connection knows its phase and closes it when the phase's deadline
//! passes:
//! - waiting for a request, or part of its head in: the **header timeout**, counted from the
//!   accept for a connection's first request, from the first byte for later ones;
//! - between requests on a kept-alive connection: the **idle timeout**;
//! - serving a request: no deadline (an alert stream lives as long as the client wants),
//!   except that a response the client stopped reading is dropped after the idle timeout
//!   without progress.
//!
//! A request body must arrive in full within the **body timeout** of its head. That is
//! enforced on the body itself, so every reader of it (the JSON extractors in `body`, the
//! pages' forms) sees [`BodyTimedOut`] and answers `request_timeout`, never a hang.
//!
//! At most `max_connections` are open at once; one more is read up to the end of its
//! request's head (for at most a quarter of a second), answered with a JSON 503
//! (`too_many_connections`) and closed, never held. A request head over [`MAX_HEADER_BYTES`]
//! or [`MAX_HEADERS`] is answered with a JSON 431 (`headers_too_large`) before hyper holds
//! it, so hyper's own limits (and its 431 without a body) are never reached.
//!
//! Not for HTTP semantics: routes, errors and bodies are `routes`, `error` and `body`.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{Request, Response};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};

use crate::error::Code;
use crate::state::AppState;

/// The largest request head ward reads (request line and headers, in bytes).
pub const MAX_HEADER_BYTES: usize = 32 << 10;
/// The most header lines a request may have (hyper's own count).
pub const MAX_HEADERS: usize = 100;
/// How long a refused connection is given to send its request and read the answer before
/// it is closed.
const LINGER: Duration = Duration::from_secs(1);
/// How long a connection over the cap is given to send its request's head before it is
/// answered anyway (clients send it as soon as they connect).
const REFUSAL_HEAD_WAIT: Duration = Duration::from_millis(250);
/// Refused connections being answered at once; past this, one more is closed without an
/// answer.
const REFUSING_AT_ONCE: usize = 128;
/// How long the accept loop pauses after an error such as running out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(250);

/// The limits on connections and the time they may take. Each is a flag and a `WARD_*`
/// variable of `ward serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerConfig {
    /// How long a client may take to send a request's line and headers: from the accept for
    /// a connection's first request, from the first byte for later ones. Past it the
    /// connection is closed (a client that opens a connection and sends nothing is too).
    pub header_timeout: Duration,
    /// How long a request's body may take to arrive in full, from its head. Past it the
    /// request is answered 408 `request_timeout` and the connection closed.
    pub body_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request, and a response for a
    /// client that stopped reading it. Past it the connection is closed.
    pub idle_timeout: Duration,
    /// Connections open at once. One more is answered 503 `too_many_connections` and closed.
    pub max_connections: usize,
    /// How long shutdown waits for requests in flight (alert streams end at once). Past it
    /// what is left is dropped.
    pub shutdown_grace: Duration,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            // Longer than the 60 s idle timeout of common load balancers, so they, not ward,
            // close the idle connections they keep (closing under them can fail a request).
            idle_timeout: Duration::from_secs(75),
            max_connections: 512,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// A request body that did not arrive within the body timeout: the error every reader of
/// the body sees (find it with [`body_timed_out`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body did not arrive within {}", in_words(*.0))]
pub struct BodyTimedOut(pub Duration);

/// The [`BodyTimedOut`] behind a body reader's error (an axum rejection), if that is what
/// it is.
pub fn body_timed_out(error: &(dyn std::error::Error + 'static)) -> Option<BodyTimedOut> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(timed_out) = error.downcast_ref::<BodyTimedOut>() {
            return Some(*timed_out);
        }
        next = error.source();
    }
    None
}

/// `30 s`, `250 ms`.
pub(crate) fn in_words(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{} ms", duration.as_millis())
    }
}

/// Serves `state`'s API on `listener` until `shutdown` resolves; then stops accepting, ends
/// the alert streams, lets requests in flight finish for up to the grace limit, and drops
/// what is left.
pub(crate) async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let config = *state.listener_config();
    let router = crate::app(state.clone());
    let mut http = hyper::server::conn::http1::Builder::new();
    // The watchdog keeps the time (see the module's docs): no timer for hyper.
    http.header_read_timeout(None);
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let refusing = Arc::new(Semaphore::new(REFUSING_AT_ONCE));
    let too_many = Bytes::from(canned(
        Code::TooManyConnections,
        &format!(
            "ward has as many connections open as it accepts ({}); try again shortly",
            config.max_connections
        ),
        "retry-after: 1\r\n",
    ));
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut at_cap = false;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => match slots.clone().try_acquire_owned() {
                    Ok(slot) => {
                        at_cap = false;
                        let connection = Connection {
                            router: router.clone(),
                            http: http.clone(),
                            config,
                            state: state.clone(),
                            _slot: slot,
                        };
                        connections.spawn(connection.run(stream));
                    }
                    Err(_) => {
                        if !at_cap {
                            at_cap = true;
                            tracing::warn!(
                                max_connections = config.max_connections,
                                "connection cap reached: answering new connections 503"
                            );
                        }
                        refuse(stream, &refusing, too_many.clone());
                    }
                },
                Err(error) => accept_failed(error).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    state.begin_draining();
    tracing::info!(
        connections = connections.len(),
        grace = %in_words(config.shutdown_grace),
        "shutting down: no new connections, alert streams ended, requests in flight finishing"
    );
    let finished = tokio::time::timeout(config.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            dropped = connections.len(),
            "shutdown grace passed: dropping the connections still open"
        );
        connections.shutdown().await;
    }
    Ok(())
}

async fn accept_failed(error: io::Error) {
    // A client that gave up between connecting and the accept is not the server's problem.
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    ) {
        return;
    }
    // Out of file descriptors, most likely: retrying at once would spin.
    tracing::error!(%error, "cannot accept a connection; retrying shortly");
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}

/// Answers a connection over the cap with `response` once its request's head is in, and
/// closes it, in the background and for at most [`LINGER`]; when [`REFUSING_AT_ONCE`] are
/// already being answered, closes it at once.
fn refuse(stream: TcpStream, refusing: &Arc<Semaphore>, response: Bytes) {
    let Ok(permit) = refusing.clone().try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        let mut stream = stream;
        let mut refusal = Refusal::before_head(response);
        std::future::poll_fn(|cx| refusal.poll(&mut stream, cx)).await;
    });
}

/// A complete HTTP/1.1 response carrying ward's JSON error, for answers written without
/// hyper; `extra_headers` are whole lines.
fn canned(code: Code, message: &str, extra_headers: &str) -> Vec<u8> {
    let body = serde_json::json!({"error": {"code": code.as_str(), "message": message}});
    let body = body.to_string();
    let status = code.status();
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra_headers}\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len(),
    )
    .into_bytes()
}

/// Writing an answer to a connection that will not be served, then closing it, all within
/// [`LINGER`]. With `head`, the request's head is read first, for up to
/// [`REFUSAL_HEAD_WAIT`]: a client answered before it has sent its request takes the answer
/// for a broken connection. After the answer, the end of the stream; then, if the client
/// sent anything, whatever more it sends is read and dropped until it closes (closing with
/// its bytes unread would reset the connection, and the client could lose the answer).
struct Refusal {
    response: Bytes,
    head: Option<(HeadScan, Pin<Box<Sleep>>)>,
    /// The client sent something: linger after the answer.
    heard: bool,
    written: usize,
    shut: bool,
    deadline: Pin<Box<Sleep>>,
}

impl Refusal {
    /// An answer to a client that has sent bytes ward will not read.
    fn after_head(response: Bytes) -> Self {
        Self {
            response,
            head: None,
            heard: true,
            written: 0,
            shut: false,
            deadline: Box::pin(tokio::time::sleep(LINGER)),
        }
    }

    /// An answer to a client that has sent nothing yet.
    fn before_head(response: Bytes) -> Self {
        Self {
            head: Some((
                HeadScan::default(),
                Box::pin(tokio::time::sleep(REFUSAL_HEAD_WAIT)),
            )),
            heard: false,
            ..Self::after_head(response)
        }
    }

    /// Ready when done (or given up): the caller then drops the connection.
    fn poll(&mut self, stream: &mut TcpStream, cx: &mut Context<'_>) -> Poll<()> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        let mut scratch = [0u8; 4096];
        if let Some((head, wait)) = &mut self.head {
            // Past the wait, answer anyway.
            while wait.as_mut().poll(cx).is_pending() {
                let mut buf = ReadBuf::new(&mut scratch);
                match ready!(Pin::new(&mut *stream).poll_read(cx, &mut buf)) {
                    // Gone before it asked: nobody to answer.
                    Ok(()) if buf.filled().is_empty() => return Poll::Ready(()),
                    Ok(()) => {
                        self.heard = true;
                        // Past the limits there is no point waiting for the end.
                        if !head.scan(buf.filled()) || head.done {
                            break;
                        }
                    }
                    Err(_) => return Poll::Ready(()),
                }
            }
            self.head = None;
        }
        while self.written < self.response.len() {
            match ready!(Pin::new(&mut *stream).poll_write(cx, &self.response[self.written..])) {
                Ok(0) | Err(_) => return Poll::Ready(()),
                Ok(n) => self.written += n,
            }
        }
        if !self.shut {
            if ready!(Pin::new(&mut *stream).poll_shutdown(cx)).is_err() || !self.heard {
                return Poll::Ready(());
            }
            self.shut = true;
        }
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match ready!(Pin::new(&mut *stream).poll_read(cx, &mut buf)) {
                Ok(()) if !buf.filled().is_empty() => {}
                _ => return Poll::Ready(()),
            }
        }
    }
}

/// One accepted connection, holding one of the cap's slots while it lives.
struct Connection {
    router: axum::Router,
    http: hyper::server::conn::http1::Builder,
    config: ListenerConfig,
    state: AppState,
    _slot: OwnedSemaphorePermit,
}

impl Connection {
    async fn run(self, stream: TcpStream) {
        let activity = Arc::new(Activity::new());
        let io = hyper_util::rt::TokioIo::new(Io {
            stream,
            activity: activity.clone(),
            head: HeadScan::default(),
            refusal: None,
            write_blocked: false,
        });
        let handler = Handler {
            router: self.router,
            activity: activity.clone(),
            body_timeout: self.config.body_timeout,
        };
        let mut draining = self.state.draining();
        let mut connection = std::pin::pin!(self.http.serve_connection(io, handler));
        let mut watchdog = std::pin::pin!(activity.watchdog(self.config));
        // Accepted just as shutdown began: hyper closes it unless a request is under way.
        let mut shutting_down = *draining.borrow_and_update();
        if shutting_down {
            connection.as_mut().graceful_shutdown();
        }
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                    return;
                }
                closed = &mut watchdog => {
                    tracing::debug!(reason = closed.as_str(), "connection closed by ward");
                    return;
                }
                _ = draining.wait_for(|draining| *draining), if !shutting_down => {
                    // Idle connections close now; one serving a request closes after it.
                    shutting_down = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Why ward closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closed {
    HeaderTimeout,
    IdleTimeout,
    WriteStalled,
}

impl Closed {
    fn as_str(self) -> &'static str {
        match self {
            Self::HeaderTimeout => "header_timeout",
            Self::IdleTimeout => "idle_timeout",
            Self::WriteStalled => "write_stalled",
        }
    }
}

/// Where a connection is in its life, for the watchdog.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request's first byte; `first`: no request came on it yet.
    Waiting { since: Instant, first: bool },
    /// Part of a request head has arrived.
    Head { since: Instant },
    /// Serving a request: from its head to the end of its response.
    Busy,
    /// A response ended before its request's body was read: hyper reads a little of the
    /// rest or closes, so what arrives now is no request head.
    Closing { since: Instant },
}

#[derive(Debug)]
struct ConnectionState {
    phase: Phase,
    /// Since when a write has been waiting for the client to read.
    write_blocked_since: Option<Instant>,
}

/// What a connection's reader, writer, requests and watchdog share.
#[derive(Debug)]
struct Activity {
    state: Mutex<ConnectionState>,
    /// Wakes the watchdog when a deadline may have moved.
    changed: Notify,
    /// The request being served has been read to its end.
    body_done: AtomicBool,
}

/// What bytes that just arrived are.
enum Arrived {
    /// The first bytes of a request head.
    NewHead,
    /// More of the same head.
    MoreHead,
    /// A body, or whatever follows a response on a connection that is closing.
    Other,
}

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new(ConnectionState {
                phase: Phase::Waiting {
                    since: Instant::now(),
                    first: true,
                },
                write_blocked_since: None,
            }),
            changed: Notify::new(),
            body_done: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ConnectionState> {
        // Nothing panics while holding it; a poisoned lock still holds a consistent state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_phase(&self, phase: Phase) {
        self.lock().phase = phase;
        self.changed.notify_one();
    }

    fn bytes_arrived(&self) -> Arrived {
        let mut state = self.lock();
        match state.phase {
            Phase::Waiting { since, first } => {
                // A first request's head is timed from the accept; a later one's from its
                // first byte (the wait before it was the idle timeout's).
                let since = if first { since } else { Instant::now() };
                state.phase = Phase::Head { since };
                drop(state);
                self.changed.notify_one();
                Arrived::NewHead
            }
            Phase::Head { .. } => Arrived::MoreHead,
            Phase::Busy | Phase::Closing { .. } => Arrived::Other,
        }
    }

    fn request_started(&self, body_done: bool) {
        self.body_done.store(body_done, Ordering::Release);
        self.set_phase(Phase::Busy);
    }

    fn request_ended(&self) {
        let since = Instant::now();
        self.set_phase(if self.body_done.load(Ordering::Acquire) {
            Phase::Waiting {
                since,
                first: false,
            }
        } else {
            Phase::Closing { since }
        });
    }

    fn write_blocked(&self, blocked: bool) {
        self.lock().write_blocked_since = blocked.then(Instant::now);
        if blocked {
            self.changed.notify_one();
        }
    }

    /// When the connection must close, and why; `None` while it may live on.
    fn deadline(&self, config: &ListenerConfig) -> Option<(Instant, Closed)> {
        let state = self.lock();
        let phase = match state.phase {
            Phase::Waiting { since, first: true } | Phase::Head { since } => {
                Some((since + config.header_timeout, Closed::HeaderTimeout))
            }
            Phase::Waiting {
                since,
                first: false,
            }
            | Phase::Closing { since } => Some((since + config.idle_timeout, Closed::IdleTimeout)),
            Phase::Busy => None,
        };
        let write = state
            .write_blocked_since
            .map(|since| (since + config.idle_timeout, Closed::WriteStalled));
        match (phase, write) {
            (Some(phase), Some(write)) => Some(if write.0 < phase.0 { write } else { phase }),
            (phase, write) => phase.or(write),
        }
    }

    /// Resolves when the connection has outlived its phase's deadline.
    async fn watchdog(&self, config: ListenerConfig) -> Closed {
        loop {
            // A change between reading the deadline and waiting is not lost: `notify_one`
            // leaves a permit when nobody waits.
            let changed = self.changed.notified();
            match self.deadline(&config) {
                None => changed.await,
                Some((deadline, _)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {
                            if let Some((deadline, reason)) = self.deadline(&config)
                                && deadline <= Instant::now()
                            {
                                return reason;
                            }
                        }
                        () = changed => {}
                    }
                }
            }
        }
    }
}

/// Counts a request head as it arrives, to refuse one over ward's limits before hyper has
/// buffered it: the bytes up to the blank line, and the lines.
#[derive(Debug, Default)]
struct HeadScan {
    bytes: usize,
    lines: usize,
    /// Past the empty lines a client may send before a request.
    started: bool,
    at_line_start: bool,
    done: bool,
}

impl HeadScan {
    /// False once the head is over the limits.
    fn scan(&mut self, bytes: &[u8]) -> bool {
        for &byte in bytes {
            if self.done {
                break;
            }
            self.bytes += 1;
            match byte {
                // Line ends are `\r\n` or `\n` (as hyper's parser takes them).
                b'\r' => {}
                b'\n' if !self.started => {}
                b'\n' if self.at_line_start => self.done = true,
                b'\n' => {
                    self.lines += 1;
                    self.at_line_start = true;
                }
                _ => {
                    self.started = true;
                    self.at_line_start = false;
                }
            }
            // The request line, then at most `MAX_HEADERS` header lines.
            if self.bytes > MAX_HEADER_BYTES || self.lines > MAX_HEADERS + 1 {
                return false;
            }
        }
        true
    }
}

/// The connection's socket as hyper sees it: reads tell the watchdog that a head is
/// arriving and are scanned against the head limits; writes that wait on the client are
/// timed.
struct Io {
    stream: TcpStream,
    activity: Arc<Activity>,
    head: HeadScan,
    /// Answering a head over the limits; the connection ends after it.
    refusal: Option<Refusal>,
    write_blocked: bool,
}

impl Io {
    fn poll_refusal(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(refusal) = &mut self.refusal {
            ready!(refusal.poll(&mut self.stream, cx));
            // An I/O error makes hyper close the connection without writing anything of its
            // own: the answer went out already.
            return Poll::Ready(Err(io::Error::other(
                "the request head was over ward's limits; answered 431",
            )));
        }
        Poll::Ready(Ok(()))
    }

    fn track_write<T>(&mut self, result: Poll<T>) -> Poll<T> {
        let blocked = result.is_pending();
        if blocked != self.write_blocked {
            self.write_blocked = blocked;
            self.activity.write_blocked(blocked);
        }
        result
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusal.is_some() {
            return this.poll_refusal(cx);
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stream).poll_read(cx, buf))?;
        let arrived = &buf.filled()[before..];
        if arrived.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let within = match this.activity.bytes_arrived() {
            Arrived::NewHead => {
                this.head = HeadScan::default();
                this.head.scan(arrived)
            }
            Arrived::MoreHead => this.head.scan(arrived),
            Arrived::Other => true,
        };
        if within {
            return Poll::Ready(Ok(()));
        }
        // Hyper never sees these bytes: it holds at most the limit of any head.
        buf.set_filled(before);
        this.refusal = Some(Refusal::after_head(Bytes::from(canned(
            Code::HeadersTooLarge,
            &format!(
                "the request's headers are larger than ward accepts ({} KiB, {MAX_HEADERS} headers); send fewer or smaller ones",
                MAX_HEADER_BYTES >> 10
            ),
            "",
        ))));
        this.poll_refusal(cx)
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write(cx, data);
        this.track_write(result)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write_vectored(cx, data);
        this.track_write(result)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Hands each request to the router, its body timed, and marks the connection busy until
/// the response has been sent.
struct Handler {
    router: axum::Router,
    activity: Arc<Activity>,
    body_timeout: Duration,
}

impl hyper::service::Service<Request<Incoming>> for Handler {
    type Response = Response<Sending>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Sending>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        use http_body::Body as _;
        self.activity
            .request_started(request.body().is_end_stream());
        let serving = Serving(self.activity.clone());
        let deadline = Instant::now() + self.body_timeout;
        let timeout = self.body_timeout;
        let activity = self.activity.clone();
        let request = request.map(|body| {
            Body::new(TimedBody {
                body,
                deadline,
                timeout,
                sleep: None,
                activity,
                timed_out: false,
            })
        });
        let mut router = self.router.clone();
        Box::pin(async move {
            use tower_service::Service as _;
            let response = match std::future::poll_fn(|cx| {
                tower_service::Service::<Request<Body>>::poll_ready(&mut router, cx)
            })
            .await
            {
                Ok(()) => router.call(request).await,
                Err(never) => match never {},
            };
            let response = match response {
                Ok(response) => response,
                Err(never) => match never {},
            };
            Ok(response.map(|body| Sending {
                body,
                _serving: serving,
            }))
        })
    }
}

/// While a request is being served: dropped with its response's body, once hyper has sent
/// it (or the connection is gone).
struct Serving(Arc<Activity>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// A response body on its way out; the connection is busy while it lives.
struct Sending {
    body: Body,
    _serving: Serving,
}

impl http_body::Body for Sending {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A request body that fails with [`BodyTimedOut`] once its deadline passes.
struct TimedBody {
    body: Incoming,
    deadline: Instant,
    timeout: Duration,
    /// Made only when the body is waited for (most bodies arrive with their head).
    sleep: Option<Pin<Box<Sleep>>>,
    activity: Arc<Activity>,
    timed_out: bool,
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = self.get_mut();
        if this.timed_out {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(None) => {
                this.activity.body_done.store(true, Ordering::Release);
                Poll::Ready(None)
            }
            Poll::Ready(Some(frame)) => {
                if this.body.is_end_stream() {
                    this.activity.body_done.store(true, Ordering::Release);
                }
                Poll::Ready(Some(frame.map_err(Into::into)))
            }
            Poll::Pending => {
                let deadline = this.deadline;
                let sleep = this
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                ready!(sleep.as_mut().poll(cx));
                this.timed_out = true;
                Poll::Ready(Some(Err(Box::new(BodyTimedOut(this.timeout)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.timed_out || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_is_counted_to_its_blank_line_whatever_its_line_ends() {
        for head in [
            &b"GET / HTTP/1.1\r\nhost: x\r\n\r\nbody bytes are not counted"[..],
            b"GET / HTTP/1.1\nhost: x\n\nbody",
            b"\r\n\r\nGET / HTTP/1.1\r\nhost: x\r\n\nbody",
        ] {
            let mut scan = HeadScan::default();
            assert!(scan.scan(head));
            assert!(scan.done, "{}", String::from_utf8_lossy(head));
            assert_eq!(scan.lines, 2);
        }
        // Split anywhere, the same.
        let head = b"POST /v1/decide HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}";
        for split in 0..head.len() {
            let mut scan = HeadScan::default();
            assert!(scan.scan(&head[..split]) && scan.scan(&head[split..]));
            assert!(scan.done);
            assert_eq!(scan.bytes, head.len() - 2);
        }
    }

    #[test]
    fn a_write_waiting_on_the_client_is_timed_even_while_a_request_is_served() {
        let config = ListenerConfig::default();
        let activity = Activity::new();
        activity.request_started(true);
        assert_eq!(
            activity.deadline(&config),
            None,
            "an alert stream may live on"
        );
        activity.write_blocked(true);
        let (deadline, reason) = activity.deadline(&config).unwrap();
        assert_eq!(reason, Closed::WriteStalled);
        assert!(deadline <= Instant::now() + config.idle_timeout);
        activity.write_blocked(false);
        assert_eq!(activity.deadline(&config), None);
        // Between requests, whichever comes first.
        activity.request_ended();
        activity.write_blocked(true);
        assert_eq!(activity.deadline(&config).unwrap().1, Closed::IdleTimeout);
    }

    #[test]
    fn a_head_over_the_limits_is_refused() {
        let mut scan = HeadScan::default();
        let line = format!("x-pad: {}\r\n", "a".repeat(1000));
        assert!(scan.scan(b"GET / HTTP/1.1\r\n"));
        let fits = (MAX_HEADER_BYTES - 16) / line.len();
        for _ in 0..fits {
            assert!(scan.scan(line.as_bytes()));
        }
        assert!(!scan.scan(line.as_bytes()));

        let mut scan = HeadScan::default();
        assert!(scan.scan(b"GET / HTTP/1.1\r\n"));
        for _ in 0..MAX_HEADERS {
            assert!(scan.scan(b"a: b\r\n"));
        }
        assert!(!scan.scan(b"a: b\r\n"));
    }
}
