//! The opening handshake phases of a connection.

use std::sync::Arc;
use std::time::Instant;

use bytes::{Buf, BytesMut};

use super::Connection;
use super::state::{ClientHandshake, Phase};
use crate::deflate::{
    DeflateChoice, DeflateState, client_offers, negotiate_client, negotiate_server,
};
use crate::error::{Error, HandshakeError, SendError};
use crate::event::{Event, Initiator};
use crate::handshake::{
    Accept, ClientRequest, RequestParse, Response, ResponseCheck, ResponseParser, ResponseProgress,
    generate_key, parse_request,
};
use crate::timer::Timer;

impl Connection {
    pub(super) fn start_client(
        &mut self,
        request: ClientRequest,
        now: Instant,
    ) -> Result<(), SendError> {
        let mut request = request;
        if let Some(deflate) = &self.config.deflate {
            request.set_extension_offers(client_offers(deflate));
        }
        let key = generate_key(self.entropy.entropy());
        let head = request.encode(&key)?;
        self.out.tail().extend_from_slice(&head);
        self.out.appended(head.len());
        self.phase = Phase::AwaitingResponse(Box::new(ClientHandshake {
            request,
            key,
            parser: ResponseParser::default(),
        }));
        self.arm(Timer::Handshake, self.config.handshake_timeout, now);
        Ok(())
    }

    /// Server: looks for a complete request head.
    pub(super) fn read_request(&mut self) {
        let Phase::AwaitingRequest(scanner) = &mut self.phase else {
            return;
        };
        let max = self.config.max_handshake_size;
        let found = scanner.find_end(&self.recv);
        self.stats.head_bytes_scanned += scanner.take_examined();
        let end = match found {
            Some(end) if end <= max => end,
            Some(_) => return self.fail_request(HandshakeError::HeadTooLarge(max)),
            None if self.recv.len() > max => {
                return self.fail_request(HandshakeError::HeadTooLarge(max));
            }
            None => return,
        };
        let parsed = parse_request(
            self.recv.get(..end).unwrap_or_default(),
            self.config.max_headers,
        );
        self.recv.advance(end);
        if self.recv.is_empty() {
            // The head is parsed into its own buffers: an open connection
            // that has nothing more to read keeps no receive buffer.
            self.recv = BytesMut::new();
        }
        match parsed {
            RequestParse::Valid(request) => {
                // Shared with the event rather than copied: the application
                // reads it while the connection waits for its decision.
                let request = Arc::new(request);
                self.timers.stop(Timer::Handshake);
                self.events.push_back(Event::Request(Arc::clone(&request)));
                self.phase = Phase::AwaitingDecision(request);
            }
            RequestParse::Invalid(error) => self.fail_request(error),
        }
    }

    /// Server: answers a bad request with its status and closes.
    pub(super) fn fail_request(&mut self, error: HandshakeError) {
        let status = error.status().unwrap_or(400);
        let mut response = Response::new(status).body(format!("{error}\n"));
        response
            .headers
            .push("Content-Type", "text/plain; charset=utf-8");
        match status {
            405 => response.headers.push("Allow", "GET"),
            426 => {
                response.headers.push("Upgrade", "websocket");
                response.headers.push("Sec-WebSocket-Version", "13");
            }
            _ => {}
        }
        if let Ok(bytes) = response.encode() {
            self.queue_raw(&bytes);
        }
        self.end_handshake(error, Initiator::Local);
    }

    pub(super) fn accept_request(&mut self, now: Instant, accept: Accept) -> Result<(), SendError> {
        let Phase::AwaitingDecision(request) = &self.phase else {
            return Err(SendError::NoPendingRequest);
        };
        let mut accept = accept;
        if accept.deflate == DeflateChoice::Auto {
            let chosen = self
                .config
                .deflate
                .as_ref()
                .and_then(|c| negotiate_server(c, request.extensions()));
            accept.deflate = chosen.map_or(DeflateChoice::Decline, DeflateChoice::Use);
        }
        let before = self.out.tail().len();
        // The usual 101 (129 bytes, more with an extension) is written
        // without growing.
        self.out.tail().reserve(160);
        let negotiated = request.write_accept_response(&accept, self.out.tail())?;
        let written = self.out.tail().len() - before;
        self.out.appended(written);
        if let DeflateChoice::Use(params) = accept.deflate {
            self.deflate = Some(DeflateState::new(
                self.role,
                &params,
                self.config.deflate.as_ref(),
            ));
        }
        self.phase = Phase::Open;
        self.events.push_back(Event::Connected(negotiated.clone()));
        self.negotiated = Some(negotiated);
        // Frames may have arrived right behind the request.
        self.process_input(now);
        Ok(())
    }

    pub(super) fn reject_request(&mut self, response: Response) -> Result<(), SendError> {
        if !matches!(self.phase, Phase::AwaitingDecision(_)) {
            return Err(SendError::NoPendingRequest);
        }
        let bytes = response.encode()?;
        self.queue_raw(&bytes);
        self.end_handshake(
            HandshakeError::RejectedByApplication(response.status),
            Initiator::Local,
        );
        Ok(())
    }

    /// Client: reads the server's answer.
    pub(super) fn read_response(&mut self, now: Instant) {
        let Phase::AwaitingResponse(client) = &mut self.phase else {
            return;
        };
        let check = ResponseCheck {
            key: &client.key,
            request: &client.request,
            max_head: self.config.max_handshake_size,
            max_headers: self.config.max_headers,
            max_body: self.config.max_rejection_body,
        };
        let progress = client.parser.advance(&mut self.recv, &check);
        self.stats.head_bytes_scanned += client.parser.take_examined();
        match progress {
            ResponseProgress::Partial => {}
            ResponseProgress::Accepted(negotiated) => {
                if let Some(config) = &self.config.deflate {
                    match negotiate_client(config, &negotiated.extensions) {
                        Ok(Some(params)) => {
                            self.deflate = Some(DeflateState::new(self.role, &params, Some(config)))
                        }
                        Ok(None) => {}
                        Err(error) => return self.end_handshake(error, Initiator::Local),
                    }
                }
                self.timers.stop(Timer::Handshake);
                self.phase = Phase::Open;
                self.events.push_back(Event::Connected(negotiated.clone()));
                self.negotiated = Some(negotiated);
                self.reset_keepalive(now);
                // Frames may have arrived in the same read as the head.
                self.read_frames(now);
            }
            ResponseProgress::Rejected(response) => self.client_rejected(response),
            ResponseProgress::Failed(error) => self.end_handshake(error, Initiator::Local),
        }
    }

    fn client_rejected(&mut self, response: Response) {
        let status = response.status;
        self.events.push_back(Event::Rejected(Box::new(response)));
        self.end_handshake(HandshakeError::Rejected(status), Initiator::Remote);
    }

    /// The transport ended during the handshake.
    pub(super) fn handshake_eof(&mut self) {
        if let Phase::AwaitingResponse(client) = &mut self.phase {
            let max_body = self.config.max_rejection_body;
            if let Some(response) = client.parser.finish(&mut self.recv, max_body) {
                return self.client_rejected(response);
            }
        }
        self.end_handshake(HandshakeError::Eof, Initiator::Remote);
    }

    /// The handshake deadline passed.
    pub(super) fn handshake_timeout(&mut self) {
        match self.phase {
            Phase::AwaitingRequest(_) => self.fail_request(HandshakeError::Timeout),
            Phase::AwaitingResponse(_) => {
                self.end_handshake(HandshakeError::Timeout, Initiator::Local)
            }
            _ => {}
        }
    }

    fn end_handshake(&mut self, error: HandshakeError, initiator: Initiator) {
        self.closing.error = Some(Error::Handshake(error));
        self.closing.initiator = Some(initiator);
        self.finish();
    }

    pub(super) fn queue_raw(&mut self, bytes: &[u8]) {
        self.out.tail().extend_from_slice(bytes);
        self.out.appended(bytes.len());
    }
}
