//! Streamed response bodies: a producer task (an import, an export) sends
//! chunks through a bounded channel and the response hands them to the
//! client as they come, so memory holds a few chunks whatever the size.
//!
//! A client that goes away drops the response, and with it the channel's
//! receiver: the producer's next send fails, which is how it learns to
//! stop. The bound makes a slow reader slow the producer down, never let
//! it run ahead into memory.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::HttpResponse;
use actix_web::web::Bytes;
use tokio::sync::mpsc;

/// Why a streamed body stopped early; the client sees the connection end
/// without the body's proper end, so it knows the body is incomplete.
#[derive(Debug, thiserror::Error)]
#[error("the streamed body stopped: {0}")]
pub struct StreamStopped(pub String);

/// The producer's end of a streamed body.
#[derive(Debug)]
pub struct ChunkSender(mpsc::Sender<Result<Bytes, StreamStopped>>);

impl ChunkSender {
    /// Send a chunk, waiting while the client is behind; `false` when the
    /// client is gone (stop producing).
    pub async fn send(&self, chunk: Bytes) -> bool {
        self.0.send(Ok(chunk)).await.is_ok()
    }

    /// End the body as broken (after what was sent), so the client does not
    /// take a partial body for a whole one.
    pub async fn fail(self, why: String) {
        // The client being gone already is as good as told.
        let _ = self.0.send(Err(StreamStopped(why))).await;
    }
}

/// The response's end: a stream of the chunks sent.
struct ChannelBody(mpsc::Receiver<Result<Bytes, StreamStopped>>);

impl futures_core::Stream for ChannelBody {
    type Item = Result<Bytes, StreamStopped>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// A `200` response of `content_type` whose body is what the returned
/// sender sends, at most `capacity` chunks ahead of the client.
pub fn streamed(content_type: &'static str, capacity: usize) -> (ChunkSender, HttpResponse) {
    let (sender, receiver) = mpsc::channel(capacity.max(1));
    let response = HttpResponse::Ok()
        .content_type(content_type)
        .streaming(ChannelBody(receiver));
    (ChunkSender(sender), response)
}
