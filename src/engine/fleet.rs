//! The fleet: every token request under the store's lock (one per expiry however many
//! workers share the store), the shared cooldown after a failed one, and keep-alive
//! of idle connections before their refresh tokens die of idleness.

use super::*;
use std::future::Future;
use std::pin::Pin;

/// A lock outlives one token request by this much: a holder that died frees it by then.
const LOCK_MARGIN_MS: u64 = 5_000;

/// After a failed token request the fleet sends none for this long (plus jitter of as much).
const COOLDOWN_MS: u64 = 2_000;

/// What the store says before a token request.
pub(super) enum Look {
    /// Nothing to request: another worker renewed or revoked, or the fleet cools down.
    Done(Outcome),
    /// Still stale: renew over this stored text (what the fenced write compares with).
    Stale(String),
}

/// What `keepAlive()` did, per connection.
#[derive(Debug, Default)]
pub struct KeepAliveReport {
    /// Refreshed now.
    pub refreshed: Vec<String>,
    /// Not idle, not renewable, or refreshed by another worker meanwhile.
    pub skipped: Vec<String>,
    /// The refresh failed.
    pub failed: Vec<KeepAliveFailure>,
}

/// One connection `keepAlive()` could not refresh.
#[derive(Debug)]
pub struct KeepAliveFailure {
    /// The connection.
    pub connection_id: String,
    /// Why, as an error code.
    pub code: ErrorCode,
}

impl<H: Host> Engine<H> {
    /// How long the store's lock is taken for.
    fn lock_ttl_ms(&self) -> u64 {
        self.config.token_timeout_ms + LOCK_MARGIN_MS
    }

    /// Renews under the store's lock: looks at the store first (another worker may have
    /// renewed), takes the lock or waits for it — bounded, jittered, looking at the store
    /// between tries — and looks again under it before asking for a token.
    pub(super) async fn renew_now(
        &self,
        id: &str,
        reason: RefreshReason,
        rejected: Option<&Secret>,
    ) -> Outcome {
        let key = self.keys.connection(id);
        let ttl = self.lock_ttl_ms();
        let deadline = self.host.now_ms() + 2 * ttl;
        let mut look = 0u32;
        loop {
            self.note_progress(id);
            if let Look::Done(outcome) = self.look_at_store(id, reason, rejected).await? {
                return outcome;
            }
            match self.host.store_lock(&key, ttl).await {
                Ok(Some(lock)) => {
                    let outcome = match self.look_at_store(id, reason, rejected).await {
                        Ok(Look::Done(outcome)) => outcome,
                        Ok(Look::Stale(base)) => self.renew_over(id, reason, base).await,
                        Err(e) => Err(e),
                    };
                    self.host.store_unlock(lock).await;
                    return outcome;
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(SessionError::store("lock", &key, e.detail())
                        .about(id, self.org_id_of(id).as_deref()))
                }
            }
            let now = self.host.now_ms();
            if now > deadline {
                return Err(SessionError::new(
                    ErrorCode::RefreshFailed,
                    "Another worker held this connection's refresh lock for too long",
                )
                .evidence(format!(
                    "the lock stayed taken for {} s (its TTL is {} s); no token request was sent",
                    (2 * ttl) / 1000,
                    ttl / 1000
                ))
                .about(id, self.org_id_of(id).as_deref()));
            }
            let jitter = now.wrapping_mul(2_654_435_761) ^ u64::from(look);
            self.host.sleep_ms(lock_look_ms(look, jitter)).await;
            look = look.saturating_add(1);
        }
    }

    /// Whether the store already settles this renewal: a revocation, a token another
    /// worker stored, or the fleet's cooldown after a failed token request.
    async fn look_at_store(
        &self,
        id: &str,
        reason: RefreshReason,
        rejected: Option<&Secret>,
    ) -> Result<Look, SessionError> {
        let (stored, raw) = self
            .read_record_raw(id)
            .await?
            .ok_or_else(|| Self::unknown(id))?;
        if stored.status == Status::ReauthRequired {
            let e = self.revoked_error(id, &stored);
            self.adopt_record(id, stored)?;
            return Ok(Look::Done(Err(e)));
        }
        let was_locked = self.with_conn(id, |c| c.record.ip_locked).unwrap_or(false);
        let now = self.host.now_ms();
        let forced = matches!(reason, RefreshReason::Forced | RefreshReason::Diagnose);
        let current = self.with_conn(id, |c| c.record.access_token.clone());
        if stored.ip_locked {
            if !was_locked {
                self.with_conn(id, |c| c.local = None);
            }
            if let Some(local) = self.read_local(id).await {
                let current = self
                    .with_conn(id, |c| c.local.as_ref().map(|l| l.access_token.clone()))
                    .flatten();
                let usable = reason != RefreshReason::Forced
                    && Some(&local.access_token) != rejected
                    && Some(&local.access_token) != current.as_ref()
                    && !due_for_refresh(now, local.expires_at, self.config.refresh_margin_s);
                if usable {
                    self.adopt_record(id, stored)?;
                    self.with_conn(id, |c| c.local = Some(local));
                    return Ok(Look::Done(Ok(Renewed::Adopted)));
                }
            }
        } else if !forced {
            let newer = Some(&stored.access_token) != current.as_ref()
                && Some(&stored.access_token) != rejected;
            // For keep-alive, any newer token means another worker used the refresh token.
            let fresh = reason == RefreshReason::KeepAlive
                || !due_for_refresh(now, stored.expires_at, self.config.refresh_margin_s);
            if newer && fresh {
                self.adopt_record(id, stored)?;
                return Ok(Look::Done(Ok(Renewed::Adopted)));
            }
        }
        if stored.cooldown_until > now && reason != RefreshReason::Forced {
            let e = SessionError::new(
                ErrorCode::RefreshFailed,
                "A token request for this connection failed moments ago; the fleet waits before the next",
            )
            .evidence(format!(
                "the stored record holds a cooldown for {} ms more after a failed token request; none was sent",
                stored.cooldown_until - now
            ))
            .about(id, Some(&stored.org_id));
            self.adopt_record(id, stored)?;
            return Ok(Look::Done(Err(e)));
        }
        self.adopt_record(id, stored)?;
        Ok(Look::Stale(raw))
    }

    /// The renewal proper, under the lock: extend by introspection, or a token request.
    /// A store with a shared lock is told first who asks for a token: when a holder goes
    /// away mid-request, a revocation that follows names the request that was lost (with
    /// rotating refresh tokens the new one died with it).
    async fn renew_over(&self, id: &str, reason: RefreshReason, base: String) -> Outcome {
        self.note_progress(id);
        if reason == RefreshReason::Proactive && self.extend_by_introspection(id).await {
            return Ok(Renewed::Extended);
        }
        let me = &self.config.instance_id;
        let lost = StoredConnection::pending_of(&base).filter(|(by, _)| by != me);
        let now = self.host.now_ms();
        let marked = if self.host.store_has_lock() {
            self.with_conn(id, |c| {
                (c.record.to_json_pending(me, now), c.record.org_id.clone())
            })
        } else {
            None
        };
        let base = match marked {
            // Polled through a pointer: the mark's write stays out of this state machine.
            Some((marked, org_id)) => {
                let write: Pin<Box<dyn Future<Output = _> + '_>> =
                    Box::pin(self.write_record_over(id, &base, &marked, &org_id));
                if let Ok(true) = write.await {
                    marked
                } else {
                    base
                }
            }
            None => base,
        };
        let outcome = self.refresh_with_token_endpoint(id, reason, &base).await;
        match (outcome, lost) {
            (Err(e), Some((by, at))) if e.code == ErrorCode::SessionRevoked => Err(e.evidence(format!(
                "instance {by} sent a token request under the fleet lock {} s before and never stored its result: the rotated refresh token was lost with it",
                now.saturating_sub(at) / 1000
            ))),
            (outcome, _) => outcome,
        }
    }

    /// Shares that a token request failed: for a few seconds (jittered) no worker sends
    /// another. Best effort, over the record the renewal started from.
    pub(super) async fn cool_down(&self, id: &str, base: &str) {
        let now = self.host.now_ms();
        let Some(mut record) = self.with_conn(id, |c| c.record.clone()) else {
            return;
        };
        record.cooldown_until = now + COOLDOWN_MS + now.wrapping_mul(2_654_435_761) % COOLDOWN_MS;
        record.gen += 1;
        if let Ok(true) = self
            .write_record_over(id, base, &record.to_json(), &record.org_id)
            .await
        {
            self.with_conn(id, |c| c.record.cooldown_until = record.cooldown_until);
        }
    }

    /// Refreshes every stored connection whose last token is older than `older_than_ms`
    /// (each under its lock, once, however many workers run this at once).
    pub async fn keep_alive(&self, older_than_ms: u64) -> Result<KeepAliveReport, SessionError> {
        let prefix = self.keys.connections();
        let keys = self
            .host
            .store_list(&prefix)
            .await
            .map_err(|e| SessionError::store("list", &prefix, e.detail()))?;
        let mut report = KeepAliveReport::default();
        for id in keys.iter().filter_map(|k| self.keys.connection_id_of(k)) {
            let failed = |e: SessionError| KeepAliveFailure {
                connection_id: id.clone(),
                code: e.code,
            };
            // What memory holds may be older than the store: a renewal looks there first.
            if let Err(e) = self.load(&id).await {
                report.failed.push(failed(e));
                continue;
            }
            let now = self.host.now_ms();
            let idle = self.with_conn(&id, |c| {
                c.record.status == Status::Active
                    && c.record.refresh_token.is_some()
                    && now.saturating_sub(c.record.last_refresh_at) >= older_than_ms
            });
            if idle != Some(true) {
                report.skipped.push(id);
                continue;
            }
            match self.renew(&id, RefreshReason::KeepAlive, None).await {
                Ok(Renewed::Refreshed) => report.refreshed.push(id),
                Ok(_) => report.skipped.push(id),
                Err(e) => report.failed.push(failed(e)),
            }
        }
        Ok(report)
    }
}
