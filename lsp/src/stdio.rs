//! Standard input and output, with a guard in front of tower-lsp-server.
//!
//! The service reads from and writes to in-memory pipes. One task reads the real standard
//! input frame by frame ([`crate::framing`]), judges each message ([`crate::incoming`]) and
//! forwards the good ones, re-framed, to the service; the bad ones are answered here. Answers
//! from both go through one writer, a whole frame at a time, so they never interleave.

use crate::framing::{Frame, FrameReader};
use crate::incoming::{self, Verdict};
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tower_lsp_server::{ClientSocket, LspService, Server};

/// How long a body that stopped arriving before its `Content-Length` is waited for.
const BODY_PATIENCE: Duration = Duration::from_secs(3);
/// The in-memory pipes' buffer size.
const PIPE: usize = 1 << 16;

/// Serves `service` on standard input and output until the client says `exit` or closes
/// standard input.
pub async fn serve<S: tower_lsp_server::LanguageServer>(
    service: LspService<S>,
    socket: ClientSocket,
) {
    let (service_input, to_service) = tokio::io::duplex(PIPE);
    let (service_output, from_service) = tokio::io::duplex(PIPE);
    let (frames, outgoing) = unbounded_channel();
    let writer = tokio::spawn(write_frames(outgoing, tokio::io::stdout()));
    let relay = tokio::spawn(relay(from_service, frames.clone()));
    let reader = tokio::spawn(read_input(tokio::io::stdin(), to_service, frames));
    Server::new(service_input, service_output, socket)
        .serve(service)
        .await;
    // The service has stopped and dropped its output: send what it wrote last, then stop
    // reading, which drops the last sender, so the writer ends once it has written all.
    let _ = relay.await;
    reader.abort();
    let _ = reader.await;
    let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
}

/// Reads the client's frames, forwards good messages to the service and answers bad ones.
async fn read_input(
    input: impl tokio::io::AsyncRead + Unpin,
    mut to_service: DuplexStream,
    answers: UnboundedSender<Vec<u8>>,
) {
    let mut frames = FrameReader::new(input, BODY_PATIENCE);
    while let Some(frame) = frames.next().await {
        let verdict = match frame {
            Frame::Body(body) => incoming::judge(&body),
            Frame::BadHeader(why) => {
                eprintln!("wfc-lsp: a message had {why}; answered a parse error");
                Verdict::Answer(incoming::error(Value::Null, -32700, "Parse error"))
            }
        };
        match verdict {
            Verdict::Forward(body) => {
                if to_service.write_all(&framed(&body)).await.is_err() {
                    // The service has stopped reading: it is shutting down.
                    return;
                }
            }
            Verdict::Answer(response) => {
                let _ = answers.send(framed(response.to_string().as_bytes()));
            }
            Verdict::Drop => {}
        }
    }
    // The client closed standard input; dropping `to_service` tells the service.
}

/// Passes the service's frames on to the writer, whole.
async fn relay(from_service: DuplexStream, frames: UnboundedSender<Vec<u8>>) {
    let mut reader = FrameReader::new(from_service, BODY_PATIENCE);
    while let Some(frame) = reader.next().await {
        if let Frame::Body(body) = frame {
            if frames.send(framed(&body)).is_err() {
                return;
            }
        }
    }
}

/// Writes each frame to `output` as it comes.
async fn write_frames(mut frames: UnboundedReceiver<Vec<u8>>, mut output: impl AsyncWrite + Unpin) {
    while let Some(frame) = frames.recv().await {
        if output.write_all(&frame).await.is_err() || output.flush().await.is_err() {
            return;
        }
    }
}

fn framed(body: &[u8]) -> Vec<u8> {
    let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    frame.extend_from_slice(body);
    frame
}
