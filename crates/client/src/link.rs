//! Whether the server answers right now (issue 21): the "reconnecting…" of the app.
//!
//! Every request of the [`crate::api::Api`] of the chosen server reports here how it
//! ended. An answer of the server (any status but a gateway's 502–504) means the path is
//! up; a failure on the way (no network, DNS, refused, reset, timeout, a proxy, a
//! 502–504 or `server_unavailable`) means it is down — and stays down until a request
//! gets an answer again, be it a retry of the person's action or the shell's own probe
//! ([`crate::Client::probe`]). A TLS failure or a refusal says nothing new: the server
//! was reached, or the path is wrong in a way that retrying does not mend.
//!
//! The shell watches the state ([`Link::watch`]) and tells the window, which shows
//! "reconnecting…" while it is down and hides it once it is up again, by itself.

use std::sync::Arc;

use tokio::sync::watch;

use crate::error::ClientError;

/// The state of the path to the server, shared by every copy of the client's API.
#[derive(Clone, Debug)]
pub struct Link(Arc<watch::Sender<bool>>);

impl Default for Link {
    fn default() -> Self {
        Self(Arc::new(watch::channel(true).0))
    }
}

impl Link {
    /// Up (true) until a request says otherwise.
    pub fn is_up(&self) -> bool {
        *self.0.borrow()
    }

    /// Changes of the state, from now on (`changed()` wakes on each flip).
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }

    /// What one request's outcome says about the path.
    pub(crate) fn note<T>(&self, outcome: &Result<T, ClientError>) {
        let up = match outcome {
            Ok(_) => true,
            Err(e) if lost_on_the_way(e) => false,
            Err(ClientError::Tls { .. }) => return,
            Err(_) => true,
        };
        self.0
            .send_if_modified(|state| std::mem::replace(state, up) != up);
    }
}

/// A failure that says the server is out of reach right now (it may come back).
fn lost_on_the_way(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::NoNetwork
            | ClientError::Dns
            | ClientError::ConnectionRefused
            | ClientError::Timeout
            | ClientError::Proxy { .. }
            | ClientError::Network { .. }
            | ClientError::ServerUnavailable { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use latchkey_proto::ErrorCode;

    #[test]
    fn the_path_follows_the_last_outcome_and_flips_are_seen_once() {
        let link = Link::default();
        let mut seen = link.watch();
        assert!(link.is_up());
        link.note::<()>(&Err(ClientError::Server(ErrorCode::InvalidCredentials)));
        assert!(link.is_up(), "a refusal is an answer");
        assert!(!seen.has_changed().unwrap());

        link.note::<()>(&Err(ClientError::Network {
            detail: "connection reset".into(),
        }));
        assert!(!link.is_up());
        assert!(seen.has_changed().unwrap());
        seen.borrow_and_update();
        link.note::<()>(&Err(ClientError::Timeout));
        assert!(!seen.has_changed().unwrap(), "still down is no change");
        link.note::<()>(&Err(ClientError::Tls {
            certificate: true,
            detail: String::new(),
        }));
        assert!(!link.is_up(), "a TLS failure tells nothing new");

        link.note(&Ok(()));
        assert!(link.is_up());
        assert!(seen.has_changed().unwrap());
    }

    #[test]
    fn what_counts_as_out_of_reach() {
        for e in [
            ClientError::NoNetwork,
            ClientError::Dns,
            ClientError::ConnectionRefused,
            ClientError::ServerUnavailable { status: 503 },
        ] {
            let link = Link::default();
            link.note::<()>(&Err(e));
            assert!(!link.is_up());
        }
    }
}
