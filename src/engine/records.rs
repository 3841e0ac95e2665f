//! Records: the only place that reads and writes stored values (connection records,
//! per-instance tokens, org read-only marks), and the policy for each failure.
//!
//! A failure of the shared record fails the call with `STORE_FAILED`: nothing is
//! lost or overwritten. The other values are best effort by design — this instance's
//! memory keeps what they hold — so their failures are reported as `store_failed`
//! events and the call goes on.

use super::*;
use serde::Serialize;

/// An org's read-only mark as stored (shared with other instances).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReadOnlyMark {
    next_probe_at: u64,
    since: u64,
}

impl<H: Host> Engine<H> {
    pub(super) async fn read_record(
        &self,
        id: &str,
    ) -> Result<Option<StoredConnection>, SessionError> {
        Ok(self.read_record_raw(id).await?.map(|(record, _)| record))
    }

    /// The record with the text it was read from (what a fenced write compares with).
    pub(super) async fn read_record_raw(
        &self,
        id: &str,
    ) -> Result<Option<(StoredConnection, String)>, SessionError> {
        let key = self.keys.connection(id);
        let raw = self
            .host
            .store_get(&key)
            .await
            .map_err(|e| SessionError::store("get", &key, e.detail()).about(id, None))?;
        let Some(raw) = raw else {
            let Some(record) = self.read_legacy_record(id).await else {
                return Ok(None);
            };
            let raw = record.to_json();
            return Ok(Some((record, raw)));
        };
        let record = StoredConnection::from_json(&raw).ok_or_else(|| {
            SessionError::new(
                ErrorCode::StoreFailed,
                "The stored record of this connection is unreadable",
            )
            .evidence(format!(
                "store.get({key}) returned a value that is not a connection record"
            ))
            .about(id, None)
        })?;
        Ok(Some((record, raw)))
    }

    /// Writes a record's stored text only over the stored text `base` (a fenced write);
    /// `false` when another worker wrote meanwhile, and nothing was written.
    pub(super) async fn write_record_over(
        &self,
        id: &str,
        base: &str,
        text: &str,
        org_id: &str,
    ) -> Result<bool, SessionError> {
        let key = self.keys.connection(id);
        self.host
            .store_compare_and_put(&key, Some(base), text)
            .await
            .map_err(|e| SessionError::store("put", &key, e.detail()).about(id, Some(org_id)))
    }

    /// A record stored under an earlier key schema (ids with `:` or `%`), copied to
    /// today's key. What is there may be another kind of value (the old schema let keys
    /// collide): only a readable connection record is taken, and nothing is deleted.
    async fn read_legacy_record(&self, id: &str) -> Option<StoredConnection> {
        let key = self.keys.legacy_connection(id)?;
        let raw = self.host.store_get(&key).await.ok()??;
        let record = StoredConnection::from_json(&raw)?;
        self.share_record(id, &record).await;
        Some(record)
    }

    pub(super) async fn write_record(
        &self,
        id: &str,
        record: &StoredConnection,
    ) -> Result<(), SessionError> {
        let key = self.keys.connection(id);
        self.host
            .store_put(&key, &record.to_json())
            .await
            .map_err(|e| {
                SessionError::store("put", &key, e.detail()).about(id, Some(&record.org_id))
            })
    }

    pub(super) async fn delete_record(&self, id: &str, org_id: &str) -> Result<(), SessionError> {
        let key = self.keys.connection(id);
        self.host
            .store_delete(&key)
            .await
            .map_err(|e| SessionError::store("delete", &key, e.detail()).about(id, Some(org_id)))
    }

    /// This instance's own token; when it cannot be read, the instance mints a new one.
    pub(super) async fn read_local(&self, id: &str) -> Option<LocalToken> {
        let key = self.keys.local_token(id);
        match self.host.store_get(&key).await {
            Ok(Some(raw)) => LocalToken::from_json(&raw),
            Ok(None) => {
                // Where earlier versions kept it.
                let legacy = self.keys.legacy_local_token(id, &self.config.instance_id);
                let raw = self.host.store_get(&legacy).await.ok()??;
                LocalToken::from_json(&raw)
            }
            Err(e) => {
                self.report_store_failure(id, "get", &key, &e);
                None
            }
        }
    }

    /// Stores this instance's own token after a refresh: the call fails if it cannot,
    /// as with the shared record, so the next refresh does not present a lost token.
    pub(super) async fn write_local(
        &self,
        id: &str,
        org_id: &str,
        local: &LocalToken,
    ) -> Result<(), SessionError> {
        let key = self.keys.local_token(id);
        self.host
            .store_put(&key, &local.to_json())
            .await
            .map_err(|e| SessionError::store("put", &key, e.detail()).about(id, Some(org_id)))
    }

    /// Keeps this instance's current token as its own when the org turns out to be IP-locked:
    /// best effort, memory holds it too.
    pub(super) async fn keep_local(&self, id: &str, local: &LocalToken) {
        let key = self.keys.local_token(id);
        if let Err(e) = self.host.store_put(&key, &local.to_json()).await {
            self.report_store_failure(id, "put", &key, &e);
        }
    }

    /// Forgets this instance's own token (connect, disconnect): a leftover is never
    /// used, since a fresh record is not IP-locked, so a failure is only reported.
    pub(super) async fn forget_local(&self, id: &str) {
        let key = self.keys.local_token(id);
        if let Err(e) = self.host.store_delete(&key).await {
            self.report_store_failure(id, "delete", &key, &e);
        }
    }

    /// Whether another instance marked the org read-only; an unreadable mark counts as none.
    pub(super) async fn read_only_marked(&self, id: &str, org_id: &str) -> bool {
        let key = self.keys.read_only(org_id);
        match self.host.store_get(&key).await {
            Ok(mark) => mark.is_some(),
            Err(e) => {
                self.report_store_failure(id, "get", &key, &e);
                false
            }
        }
    }

    /// Shares that the org is read-only; this instance holds writes from memory either way.
    pub(super) async fn write_read_only_mark(&self, id: &str, org_id: &str, state: &ReadOnlyState) {
        let key = self.keys.read_only(org_id);
        let mark = encode(&ReadOnlyMark {
            next_probe_at: state.next_probe_at,
            since: state.since,
        });
        if let Err(e) = self.host.store_put(&key, &mark).await {
            self.report_store_failure(id, "put", &key, &e);
        }
    }

    /// Shares that the org is writable again.
    pub(super) async fn clear_read_only_mark(&self, id: &str, org_id: &str) {
        let key = self.keys.read_only(org_id);
        if let Err(e) = self.host.store_delete(&key).await {
            self.report_store_failure(id, "delete", &key, &e);
        }
    }

    /// Shares an improvement of the record (a real expiry, the IP-lock switch) that
    /// memory already holds: best effort, the next renewal writes the record anyway.
    pub(super) async fn share_record(&self, id: &str, record: &StoredConnection) {
        if let Err(e) = self.write_record(id, record).await {
            let key = self.keys.connection(id);
            let detail = e.evidence.first().cloned().unwrap_or_default();
            self.report_store_failure(id, "put", &key, &HostError::new(detail));
        }
    }

    fn report_store_failure(&self, id: &str, operation: &'static str, key: &str, e: &HostError) {
        self.emit_for(
            id,
            EventDetail::StoreFailed {
                operation,
                key,
                detail: e.detail(),
            },
        );
    }

    pub(super) fn origin_of(
        &self,
        record: &StoredConnection,
        id: &str,
    ) -> Result<Origin, SessionError> {
        check_instance_url(
            &record.instance_url,
            self.config.allow_insecure_loopback,
            None,
        )
        .map_err(|why| {
            SessionError::new(
                ErrorCode::WrongInstanceUrl,
                "The stored instance_url is not a Salesforce API host",
            )
            .evidence(format!("instance_url refused: {why}"))
            .about(id, Some(&record.org_id))
        })
    }

    /// The instance origin of a connection in memory (what callers resolve paths against).
    pub fn instance_origin(&self, id: &str) -> Option<String> {
        self.with_conn(id, |c| c.origin.to_string())
    }

    /// The instance origin of a connection, reading the store once if it is not in memory.
    pub async fn load_origin(&self, id: &str) -> Result<String, SessionError> {
        self.load(id).await?;
        self.instance_origin(id).ok_or_else(|| Self::unknown(id))
    }

    /// Makes sure the connection is in memory, reading the store once if not.
    pub(super) async fn load(&self, id: &str) -> Result<(), SessionError> {
        if self.conns.borrow().contains_key(id) {
            return Ok(());
        }
        check_connection_id(id)?;
        let record = self
            .read_record(id)
            .await?
            .ok_or_else(|| Self::unknown(id))?;
        self.take_record(id, record).await
    }

    /// Makes a record just read from the store this connection's state: adopted when
    /// the connection is in memory, otherwise set up with this instance's own token.
    pub(super) async fn take_record(
        &self,
        id: &str,
        record: StoredConnection,
    ) -> Result<(), SessionError> {
        if self.conns.borrow().contains_key(id) {
            return self.adopt_record(id, record);
        }
        let origin = self.origin_of(&record, id)?;
        let now = self.host.now_ms();
        let local = if record.ip_locked {
            self.read_local(id).await
        } else {
            None
        };
        // Another call may have loaded it while this one awaited the store.
        self.conns
            .borrow_mut()
            .entry(id.to_string())
            .or_insert_with(|| Box::new(Conn::new(record, origin, local)))
            .checked_at = now;
        Ok(())
    }

    /// Takes a record read from the store as the truth for this connection.
    pub(super) fn adopt_record(
        &self,
        id: &str,
        record: StoredConnection,
    ) -> Result<(), SessionError> {
        let origin = self.origin_of(&record, id)?;
        let me = self.config.instance_id.as_str();
        let now = self.host.now_ms();
        self.with_conn(id, |c| {
            c.checked_at = now;
            // Another instance switched the connection to per-instance tokens: the
            // token this instance minted and holds stays its own.
            if record.ip_locked
                && !c.record.ip_locked
                && c.local.is_none()
                && c.record.minted_by == me
            {
                c.local = Some(LocalToken {
                    access_token: c.record.access_token.clone(),
                    issued_at: c.record.issued_at,
                    expires_at: c.record.expires_at,
                    instance_url: c.record.instance_url.clone(),
                });
            }
            c.record = record;
            c.move_to(origin);
        });
        Ok(())
    }
}
