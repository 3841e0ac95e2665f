//! Renewal: one in flight per connection in this isolate (the store's lock makes it one
//! in the fleet, `fleet.rs`), and extending a token's life by introspection.

use super::*;

/// Lands a renewal's flight on every path: with its outcome, or, when the renewal is
/// dropped before it ends, with an error, so no waiter waits for good and the next
/// call may renew again.
struct Landing<'e, H: Host> {
    engine: &'e Engine<H>,
    id: &'e str,
    flight: Rc<Flight<Outcome>>,
    landed: bool,
}

impl<H: Host> Landing<'_, H> {
    fn land(mut self, outcome: Outcome) {
        self.release();
        self.flight.land(outcome);
        self.landed = true;
    }

    fn release(&self) {
        let flight = &self.flight;
        self.engine.with_conn(self.id, |c| {
            if c.flight.as_ref().is_some_and(|f| Rc::ptr_eq(f, flight)) {
                c.flight = None;
            }
        });
    }
}

impl<H: Host> Drop for Landing<'_, H> {
    fn drop(&mut self) {
        if !self.landed {
            self.release();
            self.flight.land(Err(SessionError::new(
                ErrorCode::RefreshFailed,
                "The renewal this call waited for was abandoned",
            )
            .evidence("the call that was renewing the session went away before it ended")
            .about(self.id, None)));
        }
    }
}

/// Beyond one token request's timeout, a renewal that said nothing is taken to be gone.
const FLIGHT_QUIET_MARGIN_MS: u64 = 5_000;

impl<H: Host> Engine<H> {
    /// One renewal in flight per connection: the first caller renews, everyone else
    /// waits for its outcome (see [`Engine::renew_waiting`]).
    pub(super) async fn renew(
        &self,
        id: &str,
        reason: RefreshReason,
        rejected: Option<&Secret>,
    ) -> Outcome {
        match self.renew_waiting(id, reason, rejected, &|| false).await {
            Some(outcome) => outcome,
            None => Err(Self::unknown(id)),
        }
    }

    /// Renews, or waits for the renewal in flight by looking at it on this call's own
    /// timers (nothing another call does resumes this one), taking it over when its
    /// worker has gone quiet for longer than a token request may take. `None` when
    /// `aborted` says this call's own signal fired: it stops waiting, the renewal
    /// others share goes on; an aborted call never starts one.
    pub(super) async fn renew_waiting(
        &self,
        id: &str,
        reason: RefreshReason,
        rejected: Option<&Secret>,
        aborted: &dyn Fn() -> bool,
    ) -> Option<Outcome> {
        let bound = self.config.token_timeout_ms + FLIGHT_QUIET_MARGIN_MS;
        let mut look = 0u32;
        while let Some(flight) = self.with_conn(id, |c| c.flight.clone()).flatten() {
            if let Some(outcome) = flight.outcome() {
                return Some(outcome);
            }
            let now = self.host.now_ms();
            if flight.stalled(now, bound) {
                // Its worker went away with its request: this call renews instead.
                self.with_conn(id, |c| {
                    if c.flight.as_ref().is_some_and(|f| Rc::ptr_eq(f, &flight)) {
                        c.flight = None;
                    }
                });
                continue;
            }
            if aborted() {
                return None;
            }
            let jitter = now.wrapping_mul(2_654_435_761) ^ u64::from(look);
            self.host.sleep_ms(next_look_ms(look, jitter)).await;
            look = look.saturating_add(1);
            if let Some(outcome) = flight.outcome() {
                return Some(outcome);
            }
        }
        if aborted() {
            return None;
        }
        let flight = Flight::new(self.host.now_ms());
        self.with_conn(id, |c| c.flight = Some(flight.clone()));
        let landing = Landing {
            engine: self,
            id,
            flight,
            landed: false,
        };
        let outcome = self.renew_now(id, reason, rejected).await;
        landing.land(outcome.clone());
        Some(outcome)
    }

    /// The worker of a renewal says it is still at it (before each step that may take long).
    pub(super) fn note_progress(&self, id: &str) {
        let now = self.host.now_ms();
        self.with_conn(id, |c| {
            if let Some(f) = &c.flight {
                f.progress(now);
            }
        });
    }

    /// Asks the introspection endpoint for the real expiry, at most every few minutes per token.
    pub(super) async fn extend_by_introspection(&self, id: &str) -> bool {
        let Some(secret) = self
            .config
            .client_secret
            .clone()
            .filter(|_| self.config.introspect)
        else {
            return false;
        };
        let now = self.host.now_ms();
        let Some((view, instance, recent)) = self.with_conn(id, |c| {
            (c.view(), c.record.instance_url.clone(), c.introspected)
        }) else {
            return false;
        };
        let Some(view) = view else { return false };
        if recent.is_some_and(|(issued, at)| {
            issued == view.issued_at && now.saturating_sub(at) < INTROSPECT_EVERY_MS
        }) {
            return false;
        }
        self.with_conn(id, |c| c.introspected = Some((view.issued_at, now)));
        let request = introspect::request(&instance, &view.access, &self.config.client_id, &secret);
        let Ok(reply) = self.host.post_form(&request.url, &request.pairs()).await else {
            return false;
        };
        let Introspection {
            active,
            expires_at_ms,
        } = read_introspection(reply.status, &reply.body);
        self.emit_for(
            id,
            EventDetail::Introspection {
                active,
                expires_at: expires_at_ms,
            },
        );
        let Some(exp_ms) = expires_at_ms.filter(|_| active) else {
            return false;
        };
        if due_for_refresh(now, exp_ms, self.config.refresh_margin_s) {
            return false;
        }
        let locked = self.with_conn(id, |c| {
            if c.record.ip_locked {
                if let Some(l) = c.local.as_mut() {
                    l.expires_at = exp_ms;
                }
            } else if c.record.access_token == view.access {
                c.record.expires_at = exp_ms;
                c.record.expiry_source = ExpirySource::Introspection;
            }
            c.record.ip_locked
        });
        // Share what was learned, unless the store moved on meanwhile.
        if locked == Some(false) {
            if let Ok(Some(mut stored)) = self.read_record(id).await {
                if stored.access_token == view.access {
                    stored.expires_at = exp_ms;
                    stored.expiry_source = ExpirySource::Introspection;
                    self.share_record(id, &stored).await;
                }
            }
        }
        true
    }
}
