//! The HTTP/1 transport: one hyper connection task per client, request recording, fault
//! injection, and streaming of watch responses.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc};

use super::faults::{self, FaultKind};
use super::rest::{self, Call, Outcome, WatchPlan};
use super::status::ApiError;
use super::{RequestRecord, Shared};

/// A response body: whole, or streamed from a channel (watches).
pub enum Body {
    /// The whole body, taken on first poll.
    Full(Option<Bytes>),
    /// Chunks until the sender is dropped.
    Stream(mpsc::Receiver<Bytes>),
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(rx) => rx
                .poll_recv(cx)
                .map(|chunk| chunk.map(|b| Ok(Frame::data(b)))),
        }
    }
}

/// Accept connections until the task is dropped.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(shared.clone(), req));
            // A client that hangs up mid-request is not the double's error.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn json_response(code: u16, body: &Value, content_type: &str) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut res = Response::new(Body::Full(Some(Bytes::from(bytes))));
    *res.status_mut() =
        hyper::StatusCode::from_u16(code).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = content_type.parse() {
        res.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    res
}

fn error_response(err: &ApiError) -> Response<Body> {
    let mut res = json_response(err.code, &err.body, "application/json");
    if let Some(secs) = err.retry_after {
        res.headers_mut()
            .insert(hyper::header::RETRY_AFTER, secs.into());
    }
    res
}

fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn header(req: &Request<Incoming>, name: hyper::header::HeaderName) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Path segments that name the target of a fault's 409 (resource and object name).
fn conflict_target(path: &str) -> (String, String, String) {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match segs.as_slice() {
        ["api", _, rest @ ..] => ("", rest),
        ["apis", g, _, rest @ ..] => (*g, rest),
        _ => ("", &[][..]),
    };
    let rest = match rest {
        ["namespaces", _, tail @ ..] if !tail.is_empty() => tail,
        other => other,
    };
    let plural = rest.first().copied().unwrap_or_default();
    let name = rest.get(1).copied().unwrap_or_default();
    (group.to_string(), plural.to_string(), name.to_string())
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let raw_query = req.uri().query().unwrap_or_default().to_string();
    let accept = header(&req, hyper::header::ACCEPT);
    let content_type = header(&req, hyper::header::CONTENT_TYPE);
    let user_agent = header(&req, hyper::header::USER_AGENT);
    let impersonate = header(
        &req,
        hyper::header::HeaderName::from_static("impersonate-user"),
    );
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();

    let fault = {
        let mut state = shared.lock();
        state.requests.push(RequestRecord {
            method: method.clone(),
            path: path.clone(),
            query: raw_query.clone(),
        });
        faults::take(&mut state.faults, &method, &path)
    };
    match fault {
        Some(FaultKind::Status(code)) => {
            let (group, plural, name) = conflict_target(&path);
            return Ok(error_response(&faults::status_error(
                code, &group, &plural, &name,
            )));
        }
        Some(FaultKind::WebhookDown) => return Ok(error_response(&faults::webhook_down())),
        Some(FaultKind::Hang) => std::future::pending::<()>().await,
        Some(FaultKind::Latency(d)) => tokio::time::sleep(d).await,
        None => {}
    }

    let query = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_component(k), decode_component(v))
        })
        .collect();
    let call = Call {
        method,
        path,
        query,
        body,
        content_type,
        accept,
        user_agent,
        impersonate,
    };
    let outcome = {
        let mut state = shared.lock();
        rest::handle(&mut state, &call, &shared.url)
    };
    Ok(match outcome {
        Outcome::Json(code, body, content_type) => json_response(code, &body, content_type),
        Outcome::Text(code, text) => {
            let mut res = Response::new(Body::Full(Some(Bytes::from_static(text.as_bytes()))));
            *res.status_mut() =
                hyper::StatusCode::from_u16(code).unwrap_or(hyper::StatusCode::NOT_FOUND);
            res.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            res
        }
        Outcome::Error(err) => error_response(&err),
        Outcome::Watch(plan) => watch_response(plan),
    })
}

fn line(event: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(event).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

fn watch_response(plan: WatchPlan) -> Response<Body> {
    let (tx, rx) = mpsc::channel(256);
    let WatchPlan {
        backlog,
        rx: mut events,
        filter,
        timeout,
    } = plan;
    tokio::spawn(async move {
        for event in &backlog {
            if tx.send(line(event)).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                received = events.recv() => match received {
                    Ok(event) => {
                        if let Some(encoded) = filter(&event)
                            && tx.send(line(&encoded)).await.is_err()
                        {
                            return;
                        }
                    }
                    // A watcher too slow for the buffer is ended, as the real server does.
                    Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    let mut res = Response::new(Body::Stream(rx));
    res.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    res
}
